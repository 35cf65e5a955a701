"""Authorizations (45 CFR 164.508; regulation.md 1.2-1.5).

A grant records the 164.508(c)(1) core elements: what may be disclosed (scope and a
description), who may disclose (the practice), who may receive it, the purpose, an
expiration date or expiration event, and the signature (who, when, and a personal
representative's authority). It is sealed under the client's data key because the
signer and recipient may identify the client.

Validity is decided at the moment of use (``at``): not before it was signed, not after
its expiration date or recorded expiration event, and not on or after the date a
written revocation was received (164.508(b)(5)). Disclosures already made stay valid
(reliance): they are events, and nothing here rewrites them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import ClassVar
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from ledger.aggregates.base import LedgerEvent
from ledger.errors import BadInput
from ledger.vocabulary import PSYCHOTHERAPY_NOTES


def compound_problem(scopes: tuple[str, ...]) -> str | None:
    """164.508(b)(3)(ii): a psychotherapy-note authorization may only be combined with
    another psychotherapy-note authorization."""
    if PSYCHOTHERAPY_NOTES in scopes and len(scopes) > 1:
        return ("a psychotherapy-note authorization may not be combined with any other "
                "authorization (45 CFR 164.508(b)(3)(ii))")
    return None


@dataclass(frozen=True)
class Validity:
    valid: bool
    reason: str | None = None


class Authorization(Aggregate):
    class Granted(Aggregate.Created, LedgerEvent):
        sealed_under: ClassVar[str] = "client_id"
        client_id: UUID
        scopes: list[str]
        description: str
        discloser: str
        recipient: str
        recipient_type: str | None
        purpose: str
        expires: str | None
        expiry_event: str | None
        signed_by: str
        signed_on: str
        representative_authority: str | None

    class Revoked(LedgerEvent):
        sealed_under: ClassVar[str] = "client_id"
        client_id: UUID
        received: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Authorization)
            aggregate.revoked_received = date.fromisoformat(self.received)

    class ExpiryEventOccurred(LedgerEvent):
        sealed_under: ClassVar[str] = "client_id"
        client_id: UUID
        occurred: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Authorization)
            aggregate.expiry_event_on = date.fromisoformat(self.occurred)

    def __init__(self, client_id: UUID, scopes: list[str], description: str, discloser: str,
                 recipient: str, recipient_type: str | None, purpose: str,
                 expires: str | None, expiry_event: str | None, signed_by: str,
                 signed_on: str, representative_authority: str | None) -> None:
        self.client_id = client_id
        self.scopes = tuple(scopes)
        self.description = description
        self.discloser = discloser
        self.recipient = recipient
        self.recipient_type = recipient_type
        self.purpose = purpose
        self.expires = date.fromisoformat(expires) if expires else None
        self.expiry_event = expiry_event
        self.signed_by = signed_by
        self.signed_on = date.fromisoformat(signed_on)
        self.representative_authority = representative_authority
        self.revoked_received: date | None = None
        self.expiry_event_on: date | None = None

    @classmethod
    def grant(cls, *, client_id: UUID, scopes: tuple[str, ...], description: str,
              discloser: str, recipient: str, recipient_type: str | None, purpose: str,
              expires: date | None,
              expiry_event: str | None, signed_by: str, signed_on: date,
              representative_authority: str | None, at: datetime) -> Authorization:
        required = {"--recipient": recipient, "--purpose": purpose, "--signed-by": signed_by,
                    "--description": description}
        for option, value in required.items():
            if not value.strip():
                raise BadInput(f"an authorization needs {option} (45 CFR 164.508(c)(1))")
        if (expires is None) == (expiry_event is None or not expiry_event.strip()):
            raise BadInput("give exactly one of --expires DATE or --expiry-event TEXT "
                           "(45 CFR 164.508(c)(1)(v))")
        if signed_on > at.date():
            raise BadInput("the signature date is in the future")
        if expires is not None and expires < signed_on:
            raise BadInput("the authorization expires before it was signed")
        if representative_authority is not None and not representative_authority.strip():
            raise BadInput("--representative-authority must describe the authority")
        if (problem := compound_problem(scopes)) is not None:
            raise BadInput(problem)
        return cls._create(
            cls.Granted, id=uuid4(), client_id=client_id, scopes=list(scopes),
            description=description, discloser=discloser, recipient=recipient,
            recipient_type=recipient_type, purpose=purpose,
            expires=expires.isoformat() if expires else None,
            expiry_event=expiry_event or None, signed_by=signed_by,
            signed_on=signed_on.isoformat(), representative_authority=representative_authority,
            timestamp=at)

    def revoke(self, received: date, at: datetime) -> None:
        if self.revoked_received is not None:
            raise BadInput(f"authorization {self.id} was already revoked "
                           f"(received {self.revoked_received.isoformat()})")
        if received > at.date():
            raise BadInput("the revocation's received date is in the future")
        if received < self.signed_on:
            raise BadInput("the revocation was received before the authorization was signed")
        self.trigger_event(self.Revoked, client_id=self.client_id,
                           received=received.isoformat(), timestamp=at)

    def record_expiry_event(self, occurred: date, at: datetime) -> None:
        if self.expiry_event is None:
            raise BadInput(f"authorization {self.id} expires on a date, not on an event")
        if self.expiry_event_on is not None:
            raise BadInput(f"authorization {self.id}'s expiry event was already recorded")
        if occurred > at.date():
            raise BadInput("the expiry event's date is in the future")
        self.trigger_event(self.ExpiryEventOccurred, client_id=self.client_id,
                           occurred=occurred.isoformat(), timestamp=at)

    def validity_at(self, at: datetime) -> Validity:
        day = at.date()
        if day < self.signed_on:
            return Validity(False, "the authorization was not yet signed")
        if self.revoked_received is not None and day >= self.revoked_received:
            return Validity(False, "the authorization was revoked "
                                   f"(received {self.revoked_received.isoformat()})")
        if self.expires is not None and day > self.expires:
            return Validity(False, f"the authorization expired on {self.expires.isoformat()}")
        if self.expiry_event_on is not None and day >= self.expiry_event_on:
            return Validity(False, "the authorization's expiry event occurred on "
                                   f"{self.expiry_event_on.isoformat()}")
        return Validity(True)

    def status_at(self, at: datetime) -> str:
        validity = self.validity_at(at)
        if validity.valid:
            return "valid"
        if self.revoked_received is not None and at.date() >= self.revoked_received:
            return "revoked"
        if at.date() < self.signed_on:
            return "not-yet-signed"
        return "expired"
