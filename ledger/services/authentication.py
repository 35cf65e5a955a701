"""Authenticating a caller of the HTTP service: the credential presented is verified, and
what it proves is a :class:`~ledger.views.Principal`. Nothing the caller merely states
(a staff id, a role) is believed.

Accepted: ``Authorization: Bearer <staff token>`` (``ledger staff token issue``). A token
issued with ``--delegate`` (a service principal, say the EHR) may name the end user it acts
for (``on_behalf_of``): the principal is then that user, reached ``via`` the service, and
every event records both (IHE BALP's agent model); any other token acts only as itself. Every
failure is a recorded security event (the presented secret is never stored) and raises
:class:`~ledger.errors.Unauthenticated`, whose message is for that event only.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import NoReturn

from ledger.aggregates.audit import AuditEntry
from ledger.aggregates.base import Actor, Agent, acting_as, acting_through, utc
from ledger.errors import Unauthenticated
from ledger.identifiers import check_staff_id
from ledger.services.tokens import Tokens
from ledger.stores.main import MainStore
from ledger.views import Principal

UNKNOWN = Actor(id="unauthenticated", role="unknown")


class Authenticator:
    def __init__(self, main: MainStore, tokens: Tokens) -> None:
        self.main = main
        self.tokens = tokens

    def authenticate(self, authorization: str | None, *, source: str, at: datetime,
                     on_behalf_of: str | None = None) -> Principal:
        """The principal the ``Authorization`` header proves (acting for ``on_behalf_of``
        if the credential may delegate), else a recorded failure."""
        at = utc(at)
        scheme, _, credential = (authorization or "").partition(" ")
        if not authorization:
            self._fail("no credential", source, at)
        if scheme.lower() != "bearer" or not credential.strip():
            self._fail("unsupported authorization scheme", source, at)
        verified = self.tokens.verify(credential.strip(), at)
        if isinstance(verified, str):
            self._fail(verified, source, at)
        principal, record = verified
        if on_behalf_of is None:
            return principal
        if not record.delegate:
            self._fail(f"{principal.staff_id} may not act for others", source, at)
        end_user = self.main.staff_view(check_staff_id(on_behalf_of))
        if end_user is None or not end_user.active:
            self._fail(f"{principal.staff_id} named an unknown or deactivated end user",
                       source, at)
        return Principal(end_user.staff_id, principal.method, principal.credential,
                         via=principal.staff_id)

    def _fail(self, why: str, source: str, at: datetime) -> NoReturn:
        """Record the failed authentication (why, and from where; never the secret)."""
        with acting_as(UNKNOWN):
            self.main.save(AuditEntry.record(
                action="authenticate", outcome="denied", purpose=None, object_type="session",
                object_id=None, client_id=None, version=None,
                reason=f"{why} (from {source})", break_glass=False, at=at))
        raise Unauthenticated(why)


def acting_for(principal: Principal) -> AbstractContextManager[Agent]:
    """Inside, every event records the service principal the call came through, if any."""
    return acting_through(Agent(via=principal.via))
