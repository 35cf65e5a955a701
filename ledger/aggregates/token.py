"""Staff tokens: the credentials a staff member or an EHR integration presents to the
ledger's HTTP service. Only the token's SHA-256 digest is ever stored; the token itself is
shown once, when it is issued. The aggregate's id is the digest's first 16 bytes, so the
token presented finds its record in the event store itself (no table to trust). Issuing
and revoking are events made by an admin."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.aggregates.base import LedgerEvent
from ledger.errors import BadInput


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def token_id(token: str) -> UUID:
    """The id of the token's record: the first 16 bytes of its SHA-256 digest."""
    return UUID(bytes=digest(token)[:16])


class StaffToken(Aggregate):
    class Issued(Aggregate.Created, LedgerEvent):
        staff_id: str
        digest: str  # hex SHA-256 of the token; the token is never stored
        expires_at: datetime | None
        delegate: bool  # may act for an end user it names (an EHR integration)
        label: str | None

    class Revoked(LedgerEvent):
        reason: str | None

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, StaffToken)
            aggregate.revoked_at = self.timestamp

    def __init__(self, staff_id: str, digest: str, expires_at: datetime | None,
                 delegate: bool, label: str | None) -> None:
        self.staff_id = staff_id
        self.digest = digest
        self.expires_at = expires_at
        self.delegate = delegate
        self.label = label
        self.revoked_at: datetime | None = None

    @classmethod
    def issue(cls, token: str, staff_id: str, *, expires_at: datetime | None, delegate: bool,
              label: str | None, at: datetime) -> StaffToken:
        if expires_at is not None and expires_at <= at:
            raise BadInput("a token's expiry must be in the future")
        return cls._create(cls.Issued, id=token_id(token), staff_id=staff_id,
                           digest=digest(token).hex(), expires_at=expires_at,
                           delegate=delegate, label=label, timestamp=at)

    def revoke(self, reason: str | None, at: datetime) -> None:
        if self.revoked_at is not None:
            raise BadInput(f"token {self.id} is already revoked")
        self.trigger_event(self.Revoked, reason=reason, timestamp=at)

    def matches(self, token: str) -> bool:
        return hmac.compare_digest(bytes.fromhex(self.digest), digest(token))

    def state_at(self, at: datetime) -> str:
        """``active``, ``revoked`` or ``expired`` at ``at``."""
        if self.revoked_at is not None and self.revoked_at <= at:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= at:
            return "expired"
        return "active"
