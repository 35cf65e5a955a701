"""Authenticating a caller of the HTTP service: the credential presented is verified, and
what it proves is a :class:`~ledger.views.Principal`. Nothing the caller merely states
(a staff id, a role) is believed.

Accepted: ``Authorization: Bearer <staff token>`` (``ledger staff token issue``). Every
failure is a recorded security event (the presented secret is never stored) and raises
:class:`~ledger.errors.Unauthenticated`, whose message is for that event only.
"""

from __future__ import annotations

from datetime import datetime
from typing import NoReturn

from ledger.aggregates.audit import AuditEntry
from ledger.aggregates.base import Actor, acting_as, utc
from ledger.errors import Unauthenticated
from ledger.services.tokens import Tokens
from ledger.stores.main import MainStore
from ledger.views import Principal

UNKNOWN = Actor(id="unauthenticated", role="unknown")


class Authenticator:
    def __init__(self, main: MainStore, tokens: Tokens) -> None:
        self.main = main
        self.tokens = tokens

    def authenticate(self, authorization: str | None, *, source: str, at: datetime
                     ) -> Principal:
        """The principal the ``Authorization`` header proves, else a recorded failure."""
        at = utc(at)
        scheme, _, credential = (authorization or "").partition(" ")
        if not authorization:
            self._fail("no credential", source, at)
        if scheme.lower() != "bearer" or not credential.strip():
            self._fail("unsupported authorization scheme", source, at)
        verified = self.tokens.verify(credential.strip(), at)
        if isinstance(verified, str):
            self._fail(verified, source, at)
        principal, _ = verified
        return principal

    def _fail(self, why: str, source: str, at: datetime) -> NoReturn:
        """Record the failed authentication (why, and from where; never the secret)."""
        with acting_as(UNKNOWN):
            self.main.save(AuditEntry.record(
                action="authenticate", outcome="denied", purpose=None, object_type="session",
                object_id=None, client_id=None, version=None,
                reason=f"{why} (from {source})", break_glass=False, at=at))
        raise Unauthenticated(why)
