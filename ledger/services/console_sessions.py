"""Console sessions: signing in to the browser console, resuming, and signing out.

A staff member proves who they are with a credential the ledger verifies (a staff token
through :class:`~ledger.services.authentication.Authenticator`, or OpenID Connect); what
that proves starts a session (:class:`~ledger.aggregates.console_session.ConsoleSession`)
saved with its ``sign-in`` audit entry in one transaction. Every later request presents
the session's secret; :meth:`ConsoleSessions.resume` reads the record, and the staff
member again, so a deactivated member's session ends at their next request, recorded.
Ending a session (signing out, the automatic logoff after the idle time, 45 CFR
164.312(a)(2)(iii), a deactivation) is an event with its ``sign-out`` entry; ending one
already ended records nothing more.

Any active staff member may sign in: what they may then see is decided page by page, by
the same rules as the commands. Opening a page that reads nothing else is recorded here
(:meth:`ConsoleSessions.viewed`), under the page's rule when it has one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from ledger.aggregates.base import utc
from ledger.aggregates.console_session import ConsoleSession, session_id
from ledger.errors import NotFound
from ledger.rules.roles import Rule
from ledger.services.audited import Attempt, proven
from ledger.stores.main import MainStore
from ledger.views import Principal

SECRET_BYTES = 32
OBJECT_TYPE = "console-session"


@dataclass(frozen=True)
class Session:
    """A live session, as a request sees it (never the secret)."""

    id: UUID
    staff_id: str
    role: str
    method: str
    credential: str
    started_at: datetime

    @property
    def principal(self) -> Principal:
        return Principal(self.staff_id, "console-session", str(self.id), role=self.role)


class ConsoleSessions:
    def __init__(self, main: MainStore) -> None:
        self.main = main

    def sign_in(self, principal: Principal, *, idle_seconds: int, at: datetime
                ) -> tuple[str, Session]:
        """A new session for what a credential proved: its secret (for the cookie, shown
        nowhere else) and the session. Recorded as a ``sign-in``."""
        at = utc(at)
        secret = secrets.token_urlsafe(SECRET_BYTES)
        record = ConsoleSession.start(secret, staff_id=principal.staff_id,
                                      method=principal.method,
                                      credential=principal.credential,
                                      idle_seconds=idle_seconds, at=at)
        with proven(principal), Attempt(self.main, principal.staff_id, "sign-in",
                                        OBJECT_TYPE, at=at, object_id=record.id) as attempt:
            attempt.commit(record, reason=f"{principal.method} {principal.credential}")
        return secret, _session(record, principal.role or attempt.actor.role)

    def resume(self, secret: str, *, at: datetime) -> Session | str:
        """The live session the secret opens, else why not (unknown, ended, or its staff
        member deactivated: that ends it, recorded)."""
        record = self._record(secret)
        if record is None:
            return "unknown session"
        if record.ended:
            return f"session ended ({record.end_reason})"
        staff = self.main.staff_view(record.staff_id)
        if staff is None or not staff.active:
            self._end(record, "the staff member is deactivated", utc(at))
            return "the staff member is deactivated"
        return _session(record, staff.role)

    def sign_out(self, secret: str, *, reason: str, at: datetime) -> bool:
        """End the session the secret opens; False if it is unknown or already ended."""
        record = self._record(secret)
        if record is None or record.ended:
            return False
        self._end(record, reason, utc(at))
        return True

    def viewed(self, session: Session, page: str, *, at: datetime,
               rule: Rule | None = None) -> None:
        """Record the opening of a console page that reads nothing recorded elsewhere;
        with ``rule``, the roles table decides first (a refusal is recorded and raised)."""
        with proven(session.principal), Attempt(self.main, session.staff_id, "access",
                                                "console-page", at=at) as attempt:
            if rule is not None:
                attempt.decide(rule, what=f"the {page} page")
            attempt.commit(reason=page)

    def _record(self, secret: str) -> ConsoleSession | None:
        if not secret or len(secret) > 100:
            return None
        try:
            record = self.main.get(ConsoleSession, session_id(secret), "console session")
        except NotFound:
            return None
        return record if record.matches(secret) else None

    def _end(self, record: ConsoleSession, reason: str, at: datetime) -> None:
        with Attempt(self.main, record.staff_id, "sign-out", OBJECT_TYPE, at=at,
                     object_id=record.id) as attempt:
            record.end(reason, at)
            attempt.commit(record, reason=reason)


def _session(record: ConsoleSession, role: str) -> Session:
    return Session(record.id, record.staff_id, role, record.method, record.credential,
                   record.created_on)
