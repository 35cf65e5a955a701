"""What the services return: plain frozen records, never aggregates, never key material."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID


@dataclass(frozen=True)
class StaffInfo:
    staff_id: str
    name: str
    role: str
    active: bool


@dataclass(frozen=True)
class NoteSummary:
    note_id: UUID
    session_date: str | None
    author_id: str
    versions: int
    written_at: datetime  # when the ledger recorded the note (the chain time)
    last_changed_at: datetime
    # An imported note: the day it was originally written in the earlier system (None: a
    # note written here, on the day of written_at).
    original_written_on: str | None = None


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
    # An imported note: the day it was originally written in the earlier system, while
    # written_at is when the ledger recorded this version (the chain time).
    original_written_on: str | None = None


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
    assertion: str | None = None  # what was asserted for a release under an exception


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
    assertion: str | None = None  # what the releaser asserted, for a release under an exception
    # How the actor reached the ledger: the service principal that acted for them, and the
    # OS user who ran a local command (None on events older than these fields).
    actor_via: str | None = None
    actor_os_user: str | None = None


@dataclass(frozen=True)
class AccessPage:
    """One page of the access log: its records, and where it lies in the whole listing.
    ``disagreeing`` names the read-model rows of this page that disagree with their event
    in the log ("main: position 7: ..."); they are left out of ``records``, but counted in
    ``total`` (a count of the read model's rows)."""

    records: tuple[AccessRecord, ...]
    total: int
    page: int
    per_page: int
    pages: int
    disagreeing: tuple[str, ...] = ()


@dataclass(frozen=True)
class TimelineItem:
    """One event of a client's timeline (either store): ids, codes and times only; a
    description made from codes, never free text (reasons, matters, notes stay out)."""

    at: datetime
    store: str
    position: int
    kind: str  # use, disclosure, refusal, amendment, origination, break-the-glass, ...
    actor: str
    role: str
    purpose: str | None
    outcome: str
    object_id: str | None
    description: str


@dataclass(frozen=True)
class Timeline:
    client_id: UUID
    since: date | None
    until: date | None
    items: tuple[TimelineItem, ...]


@dataclass(frozen=True)
class AccountingEntry:
    """One accountable disclosure, with the 164.528(b)(2) fields."""

    store: str
    disclosure_id: UUID
    disclosed_at: datetime
    recipient: str
    recipient_address: str | None
    description: str
    purpose: str
    legal_basis: str | None
    statement: str | None = None  # what the releaser asserted (164.528(b)(2)(iv))


@dataclass(frozen=True)
class VersionInfo:
    version: int
    author_id: str
    written_at: datetime
    amendment_reason: str | None


@dataclass(frozen=True)
class RecordSetNote:
    """A progress note as it stood at a moment: its then-current text, and every version
    up to then (the amendment history, linked by note id and version)."""

    note_id: UUID
    session_date: str | None
    current: NoteContent
    history: tuple[VersionInfo, ...]


@dataclass(frozen=True)
class RecordSet:
    client_id: UUID
    as_of: datetime
    notes: tuple[RecordSetNote, ...]
    destroyed: str | None = None  # the tombstone of a purged client


@dataclass(frozen=True)
class AccessRequestExport:
    """What the client receives under the right of access (164.524), and its clock: act
    within 30 days of receipt, with at most one 30-day extension (164.524(b)(2))."""

    record_set: RecordSet
    received_on: date
    due_on: date
    latest_extended_due_on: date


@dataclass(frozen=True)
class HoldInfo:
    hold_id: UUID
    matter: str | None
    client_ids: tuple[UUID, ...]
    reason: str
    placed_by: str
    placed_at: datetime
    released_at: datetime | None
    release_reason: str | None

    def active_at(self, at: datetime) -> bool:
        return self.placed_at <= at and (self.released_at is None or at < self.released_at)


@dataclass(frozen=True)
class InclusionProof:
    """An RFC 9162 inclusion proof, checked before it is handed out."""

    store: str
    position: int
    size: int
    leaf: bytes
    root: bytes
    proof: tuple[bytes, ...]
    verified: bool
    checkpoint: str | None  # the origin of the signed checkpoint it was proved against


@dataclass(frozen=True)
class ConsistencyProof:
    """An RFC 9162 consistency proof, checked before it is handed out."""

    store: str
    old: int
    new: int
    old_root: bytes
    new_root: bytes
    proof: tuple[bytes, ...]
    verified: bool


@dataclass(frozen=True)
class Principal:
    """Who a verified credential speaks for (issue 13: identity is proven, not claimed).

    ``staff_id`` is who acts (the end user, for a delegated call); ``via`` the service
    principal that made the call for them (None: the staff member called directly);
    ``method`` how the credential was verified (``staff-token``, ``oidc``, ...);
    ``credential`` the credential's id (a token's id, a JWT's ``jti``), never the secret;
    ``role`` the role of the (active) staff member as authentication read it, so the
    call's role check need not read them again."""

    staff_id: str
    method: str
    credential: str
    via: str | None = None
    role: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class TokenInfo:
    token_id: UUID
    staff_id: str
    issued_at: datetime
    expires_at: datetime | None
    delegate: bool
    label: str | None
    state: str  # active, expired, revoked


@dataclass(frozen=True)
class IssuedToken:
    token: str  # shown once; never stored
    info: TokenInfo


@dataclass(frozen=True)
class ImportCounts:
    clients: int = 0
    episodes: int = 0
    contacts: int = 0
    progress_notes: int = 0
    psychotherapy_notes: int = 0


@dataclass(frozen=True)
class ImportResult:
    """What an import added and what it skipped as already recorded (a dry run: what it
    would add and skip; nothing was written but the recorded attempt)."""

    dry_run: bool
    added: ImportCounts
    skipped: ImportCounts
