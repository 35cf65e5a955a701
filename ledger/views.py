"""What the services return: plain frozen records, never aggregates, never key material."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID


@dataclass(frozen=True)
class NoteSummary:
    note_id: UUID
    session_date: str | None
    author_id: str
    versions: int
    written_at: datetime
    last_changed_at: datetime


@dataclass(frozen=True)
class NoteContent:
    note_id: UUID
    version: int
    versions: int
    author_id: str
    written_at: datetime
    session_date: str | None
    amendment_reason: str | None
    text: str


@dataclass(frozen=True)
class AuthorizationInfo:
    authorization_id: UUID
    client_id: UUID
    scopes: tuple[str, ...]
    description: str
    discloser: str
    recipient: str
    recipient_type: str | None
    purpose: str
    expires: date | None
    expiry_event: str | None
    signed_by: str
    signed_on: date
    representative_authority: str | None
    revoked_received: date | None
    expiry_event_on: date | None
    status: str


@dataclass(frozen=True)
class Release:
    """A granted disclosure: what was released, to whom, on what basis."""

    disclosure_id: UUID
    client_id: UUID
    recipient: str
    recipient_type: str
    purpose: str
    basis: str | None
    legal_basis: str | None
    accountable: bool
    description: str
    notes: tuple[NoteContent, ...]


@dataclass(frozen=True)
class AccessRecord:
    """One access or disclosure event, as an auditor reads it (no content)."""

    store: str
    position: int
    at: datetime
    actor_id: str
    actor_role: str
    action: str
    outcome: str
    object_type: str
    object_id: str | None
    client_id: UUID | None
    purpose: str | None
    reason: str | None
    break_glass: bool
    recipient: str | None = None
    recipient_type: str | None = None
    legal_basis: str | None = None
    accountable: bool | None = None
