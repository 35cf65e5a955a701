"""``/v1/tokens``: staff tokens, issued, revoked and listed by an admin
(``ledger staff token``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.caller import CallerDep
from api.fields import Body, Moment, StaffId, Text
from api.problems import responses
from ledger.dates import parse_moment

router = APIRouter(prefix="/v1/tokens", tags=["staff"])


class TokenIssue(Body):
    staff: StaffId
    expires: Moment | None = None
    delegate: bool = False
    label: Text | None = None


class TokenRevoke(Body):
    reason: Text | None = None


class TokenInfo(BaseModel):
    token_id: UUID
    staff_id: str
    issued_at: datetime
    expires_at: datetime | None
    delegate: bool
    label: str | None
    state: str


class IssuedToken(TokenInfo):
    token: str  # shown once: the only time the secret leaves the server


@router.post("", status_code=201, response_model=IssuedToken,
             responses=responses(403, 404))
def issue(body: TokenIssue, caller: CallerDep) -> IssuedToken:
    """Issue a token for a staff member; the response is the only time it is shown."""
    with caller.acting():
        issued = caller.ledger.tokens.issue(
            body.staff, by=caller.by, at=caller.at,
            expires_at=parse_moment(body.expires, "expires", now=caller.at),
            delegate=body.delegate, label=body.label)
    return IssuedToken(token=issued.token, **vars(issued.info))


@router.post("/{token_id}/revoke", response_model=TokenInfo,
             responses=responses(403, 404))
def revoke(token_id: UUID, body: TokenRevoke, caller: CallerDep) -> TokenInfo:
    """Revoke a token by its id; it stops working at once."""
    with caller.acting():
        info = caller.ledger.tokens.revoke(token_id, by=caller.by, at=caller.at,
                                           reason=body.reason)
    return TokenInfo(**vars(info))


@router.get("", response_model=list[TokenInfo], responses=responses(403))
def list_tokens(caller: CallerDep,
                staff: Annotated[StaffId | None, Query()] = None) -> list[TokenInfo]:
    """Tokens (ids, owners, expiry, state; never the tokens). Recorded."""
    with caller.acting():
        infos = caller.ledger.tokens.list_tokens(by=caller.by, at=caller.at, staff_id=staff)
    return [TokenInfo(**vars(i)) for i in infos]
