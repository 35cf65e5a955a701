"""Console sessions: a staff member signed in to the browser console (``/console``).

The session's secret is 256 random bits held only by the browser, in an HttpOnly cookie;
the record keeps its SHA-256 digest, and the record's id is derived from that digest (as a
staff token's is), so the cookie presented finds its record in the event store itself,
whose chain is verified like every other event. Nobody with the database can mint or
resume a session. Starting and ending are events of the signed-in staff member; each is
saved with its audit entry (``sign-in``, ``sign-out``).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.aggregates.base import LedgerEvent

DOMAIN = b"ledger console session v1\x00"


def digest(secret: str) -> bytes:
    return hashlib.sha256(DOMAIN + secret.encode()).digest()


def session_id(secret: str) -> UUID:
    """The id of the session's record: the first 16 bytes of its secret's digest."""
    return UUID(bytes=digest(secret)[:16])


class ConsoleSession(Aggregate):
    class Started(Aggregate.Created, LedgerEvent):
        staff_id: str
        digest: str  # hex SHA-256 of the secret; the secret is never stored
        method: str  # how the staff member proved who they are: staff-token, oidc
        credential: str  # the credential's id (a token's id, a JWT's jti): never the secret
        idle_seconds: int  # the automatic logoff in force when it started

    class Ended(LedgerEvent):
        reason: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, ConsoleSession)
            aggregate.ended_at = self.timestamp
            aggregate.end_reason = self.reason

    def __init__(self, staff_id: str, digest: str, method: str, credential: str,
                 idle_seconds: int) -> None:
        self.staff_id = staff_id
        self.digest = digest
        self.method = method
        self.credential = credential
        self.idle_seconds = idle_seconds
        self.ended_at: datetime | None = None
        self.end_reason: str | None = None

    @classmethod
    def start(cls, secret: str, *, staff_id: str, method: str, credential: str,
              idle_seconds: int, at: datetime) -> ConsoleSession:
        return cls._create(cls.Started, id=session_id(secret), staff_id=staff_id,
                           digest=digest(secret).hex(), method=method,
                           credential=credential, idle_seconds=idle_seconds, timestamp=at)

    def end(self, reason: str, at: datetime) -> None:
        self.trigger_event(self.Ended, reason=reason, timestamp=at)

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(bytes.fromhex(self.digest), digest(secret))

    @property
    def ended(self) -> bool:
        return self.ended_at is not None
