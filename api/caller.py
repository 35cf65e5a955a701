"""Who is calling: every request is authenticated before any service is called.

The ``Authorization`` header (and ``X-On-Behalf-Of``, for a delegate token acting for an
end user) goes to the ledger's :class:`~ledger.services.authentication.Authenticator`,
with the client's address as the failure's source. What it proves is the
:class:`Caller`: the staff member every service is called for (``by``), and the
principal whose agent (the service that called for them, if any) every event records
(``with caller.acting():``). Nothing the caller merely states is believed: there is no
``--as`` here.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Header, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

if TYPE_CHECKING:
    from ledger.bootstrap import Ledger
    from ledger.views import Principal

bearer = HTTPBearer(
    auto_error=False, scheme_name="staffToken",
    description="A staff token (`ledger staff token issue`), as `Authorization: Bearer "
                "lgst_...`. A token issued with `--delegate` may add `X-On-Behalf-Of: "
                "STAFF` to act for that end user.")


def now() -> datetime:
    """The HTTP front end's clock: read once per request and passed down as ``at``."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Caller:
    ledger: Ledger
    principal: Principal
    at: datetime

    @property
    def by(self) -> str:
        return self.principal.staff_id

    def acting(self) -> AbstractContextManager[Any]:
        """Inside, every event records the agent the call came through (IHE BALP)."""
        from ledger.services.authentication import acting_for  # noqa: PLC0415

        return acting_for(self.principal)


def ledger_of(request: Request) -> Ledger:
    ledger: Ledger = request.app.state.ledger
    return ledger


def source(request: Request) -> str:
    """Where the request came from, for the record of a failed authentication."""
    return request.client.host if request.client is not None else "unknown"


def authenticated(
        request: Request,
        _: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
        on_behalf_of: Annotated[str | None, Header(
            alias="X-On-Behalf-Of",
            description="With a delegate token: the staff id of the end user it acts "
                        "for. Any other token with this header is refused (401). Not "
                        "checked here: the authenticator decides, and records a refusal."
        )] = None,
) -> Caller:
    """The proven caller, or ``Unauthenticated`` (401, recorded) / ``Throttled`` (429)."""
    ledger = ledger_of(request)
    at = now()
    principal = ledger.authenticator.authenticate(
        request.headers.get("authorization"), source=source(request), at=at,
        on_behalf_of=on_behalf_of)
    return Caller(ledger, principal, at)


CallerDep = Annotated[Caller, Depends(authenticated)]
