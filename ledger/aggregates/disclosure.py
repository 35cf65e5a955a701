"""Disclosures: one immutable event per attempt to release anything, granted or refused.

A granted disclosure carries the 164.528(b)(2) fields (date, recipient and address if
known, brief description, purpose or basis) and whether it is accountable under
164.528(a)(1). Disclosures are audit metadata: sealed under the store's audit key, never
a client's content key, so the accounting outlives a content purge (164.530(j)).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from ledger.aggregates.base import LedgerEvent


class Disclosure(Aggregate):
    class Recorded(Aggregate.Created, LedgerEvent):
        outcome: str
        reason: str | None
        client_id: UUID
        object_type: str
        items: list[str]
        recipient: str
        recipient_address: str | None
        recipient_type: str
        purpose: str
        basis: str | None
        authorization_id: str | None
        exception: str | None
        legal_basis: str | None
        description: str
        accountable: bool
        # What the releaser asserted for a release under an exception (the court order,
        # the agency's request); absent from events recorded before it existed.
        assertion: str | None = None

    def __init__(self, outcome: str, reason: str | None, client_id: UUID, object_type: str,
                 items: list[str], recipient: str, recipient_address: str | None,
                 recipient_type: str, purpose: str, basis: str | None,
                 authorization_id: str | None, exception: str | None,
                 legal_basis: str | None, description: str, accountable: bool,
                 assertion: str | None = None) -> None:
        self.outcome = outcome
        self.reason = reason
        self.client_id = client_id
        self.object_type = object_type
        self.items = items
        self.recipient = recipient
        self.recipient_address = recipient_address
        self.recipient_type = recipient_type
        self.purpose = purpose
        self.basis = basis
        self.authorization_id = authorization_id
        self.exception = exception
        self.legal_basis = legal_basis
        self.description = description
        self.accountable = accountable
        self.assertion = assertion

    @classmethod
    def record(cls, *, outcome: str, reason: str | None, client_id: UUID, object_type: str,
               items: list[tuple[UUID, int]], recipient: str, recipient_address: str | None,
               recipient_type: str, purpose: str, basis: str | None,
               authorization_id: UUID | None, exception: str | None, legal_basis: str | None,
               description: str, accountable: bool, at: datetime,
               assertion: str | None = None, disclosure_id: UUID | None = None) -> Disclosure:
        return cls._create(
            cls.Recorded, id=disclosure_id or uuid4(), assertion=assertion, outcome=outcome,
            reason=reason, client_id=client_id,
            object_type=object_type, items=[f"{i}@{v}" for i, v in items], recipient=recipient,
            recipient_address=recipient_address, recipient_type=recipient_type,
            purpose=purpose, basis=basis,
            authorization_id=str(authorization_id) if authorization_id else None,
            exception=exception, legal_basis=legal_basis, description=description,
            accountable=accountable, timestamp=at)
