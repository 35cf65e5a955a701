"""``/v1/authorizations``: signed authorizations with their 164.508(c) core elements
(``ledger authorize``). Psychotherapy-note authorizations live in the sealed store, the
others in the main store; revoking and expiring find one by id in either."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter
from pydantic import Field

from api.caller import CallerDep
from api.fields import Body, ClientRef, Day, RecipientType, Scope, StoreChoice, Text, stores
from api.problems import responses
from ledger.dates import parse_day, require_day
from ledger.errors import BadInput
from ledger.views import AuthorizationInfo
from ledger.vocabulary import parse_scopes

router = APIRouter(prefix="/v1/authorizations", tags=["authorizations"])
DEFAULT_DISCLOSER = "this practice"


class Grant(Body):
    client: ClientRef
    scopes: Annotated[list[Scope], Field(min_length=1, max_length=3)]
    recipient: Text
    recipient_type: RecipientType | None = None
    purpose: Text
    expires: Day | None = None
    expiry_event: Text | None = None
    signed_by: Text
    signed_on: Day | None = None
    representative_authority: Text | None = None
    description: Text | None = None
    discloser: Text = DEFAULT_DISCLOSER


class Revoke(Body):
    received: Day


class Expire(Body):
    occurred: Day


class Search(Body):
    client: ClientRef
    store: StoreChoice = "all"


@router.post("", status_code=201, response_model=AuthorizationInfo,
             responses=responses(403, 404))
def grant(body: Grant, caller: CallerDep) -> AuthorizationInfo:
    """Record a signed authorization (`ledger authorize grant`)."""
    if (body.expires is None) == (body.expiry_event is None):
        raise BadInput("give exactly one of expires (a date) or expiry_event (text)")
    parsed = parse_scopes(tuple(body.scopes))
    with caller.acting():
        return caller.ledger.authorizations.grant(
            body.client, parsed, by=caller.by, recipient=body.recipient,
            purpose=body.purpose, expires=parse_day(body.expires, "expires"),
            expiry_event=body.expiry_event, signed_by=body.signed_by,
            signed_on=parse_day(body.signed_on, "signed_on") or caller.at.date(),
            representative_authority=body.representative_authority,
            description=body.description or f"the client's {' and '.join(parsed)}",
            discloser=body.discloser, recipient_type=body.recipient_type, at=caller.at)


@router.post("/{authorization_id}/revoke", response_model=AuthorizationInfo,
             responses=responses(403, 404))
def revoke(authorization_id: UUID, body: Revoke, caller: CallerDep) -> AuthorizationInfo:
    """Record a written revocation; disclosures made before it stay valid (reliance)."""
    with caller.acting():
        return caller.ledger.authorizations.revoke(
            authorization_id, require_day(body.received, "received"), by=caller.by,
            at=caller.at)


@router.post("/{authorization_id}/expire", response_model=AuthorizationInfo,
             responses=responses(403, 404))
def expire(authorization_id: UUID, body: Expire, caller: CallerDep) -> AuthorizationInfo:
    """Record that an authorization's expiration event occurred."""
    with caller.acting():
        return caller.ledger.authorizations.record_expiry_event(
            authorization_id, require_day(body.occurred, "occurred"), by=caller.by,
            at=caller.at)


@router.post("/search", response_model=list[AuthorizationInfo],
             responses=responses(403, 404))
def list_authorizations(body: Search, caller: CallerDep) -> list[AuthorizationInfo]:
    """A client's authorizations with their status today. Recorded."""
    with caller.acting():
        return caller.ledger.authorizations.list_authorizations(
            body.client, by=caller.by, at=caller.at, stores=stores(body.store))
