"""Per-subject data keys, wrapped by the store's key-encryption key (KEK).

The KEK lives outside the database (a 0600 file or an environment variable). The
keys table holds only wrapped keys, each bound to its key id by AES-GCM associated
data, so a wrapped key cannot be moved to another row. Each store also has one
*audit* key for metadata that must outlive any content purge; it is never destroyed.
A key id is random and never reissued; one subject has at most one key, ever.
"""

from __future__ import annotations

import threading
from datetime import datetime
from uuid import UUID, uuid4

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    LargeBinary,
    MetaData,
    String,
    Table,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from ledger.errors import ContentDestroyed, KeyMaterialError
from ledger.primitives.crypto import CryptoError, Sealer, new_key, unwrap_key, wrap_key

AUDIT_SUBJECT = "audit"


def keys_table(metadata: MetaData, prefix: str, schema: str | None) -> Table:
    return Table(
        f"{prefix}_keys",
        metadata,
        Column("key_id", String(32), primary_key=True),
        Column("subject", String(64), nullable=False, unique=True),
        Column("wrapped", LargeBinary(), nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("destroyed_at", DateTime(timezone=True), nullable=True),
        schema=schema,
    )


class KeyRing:
    """Creates, caches and unwraps a store's data keys."""

    def __init__(self, engine: Engine, kek: bytes, prefix: str, schema: str | None) -> None:
        self._engine = engine
        self._kek = kek
        self.table = keys_table(MetaData(), prefix, schema)
        self._sealers: dict[UUID, Sealer] = {}
        self._by_subject: dict[str, UUID] = {}
        self._lock = threading.Lock()

    def create_table(self) -> None:
        self.table.create(self._engine, checkfirst=True)

    def ensure_key(self, subject: str, at: datetime) -> UUID:
        """The key id for ``subject``, creating and storing a wrapped key on first use."""
        existing = self.key_id_for(subject)
        if existing is not None:
            return existing
        key_id = uuid4()
        dek = new_key()
        row = {"key_id": key_id.hex, "subject": subject,
               "wrapped": wrap_key(self._kek, dek, key_id.bytes), "created_at": at}
        try:
            with self._engine.begin() as conn:
                conn.execute(insert(self.table), [row])
        except IntegrityError:
            # Another writer created it first: use theirs.
            found = self.key_id_for(subject)
            if found is None:
                raise KeyMaterialError(f"could not create a data key for {subject}") from None
            return found
        with self._lock:
            self._by_subject[subject] = key_id
            self._sealers[key_id] = Sealer(dek)
        return key_id

    def key_id_for(self, subject: str) -> UUID | None:
        cached = self._by_subject.get(subject)
        if cached is not None:
            return cached
        t = self.table.c
        with self._engine.connect() as conn:
            found = conn.execute(select(t.key_id).where(t.subject == subject)).scalar()
        if found is None:
            return None
        key_id = UUID(hex=found)
        with self._lock:
            self._by_subject[subject] = key_id
        return key_id

    def sealer(self, key_id: UUID) -> Sealer:
        """The unwrapped key for ``key_id``; :class:`ContentDestroyed` once it was shredded."""
        cached = self._sealers.get(key_id)
        if cached is not None:
            return cached
        t = self.table.c
        with self._engine.connect() as conn:
            row = conn.execute(
                select(t.wrapped, t.destroyed_at).where(t.key_id == key_id.hex)
            ).first()
        if row is None:
            raise KeyMaterialError(f"data key {key_id} is not in the key table")
        if row.wrapped is None:
            raise ContentDestroyed(f"content under key {key_id} was destroyed")
        try:
            dek = unwrap_key(self._kek, bytes(row.wrapped), key_id.bytes)
        except CryptoError:
            raise KeyMaterialError(
                "the key-encryption key does not match this store "
                f"(cannot unwrap data key {key_id})"
            ) from None
        sealer = Sealer(dek)
        with self._lock:
            self._sealers[key_id] = sealer
        return sealer

    def destroy(self, subject: str, at: datetime) -> UUID | None:
        """Crypto-shred ``subject``: drop its wrapped key (the row and its id stay, so the id
        is never reissued and the subject can never get a new key). Returns the key id if
        this call destroyed it; None if there was no key or it was already destroyed."""
        if subject == AUDIT_SUBJECT:
            raise KeyMaterialError("the audit key is never destroyed")
        t = self.table.c
        with self._engine.begin() as conn:
            found = conn.execute(update(self.table).where(
                t.subject == subject, t.wrapped.is_not(None)
            ).values(wrapped=None, destroyed_at=at).returning(t.key_id)).scalar()
        if found is None and self.key_id_for(subject) is None:
            # The subject never had a key here: record a destroyed one, so that it can
            # never get a key (nothing new can be written for a purged client).
            row = {"key_id": uuid4().hex, "subject": subject, "wrapped": None,
                   "created_at": at, "destroyed_at": at}
            try:
                with self._engine.begin() as conn:
                    conn.execute(insert(self.table), [row])
            except IntegrityError:
                pass  # a writer created a key meanwhile: destroy that one
            else:
                return None
            return self.destroy(subject, at)
        with self._lock:
            key_id = self._by_subject.get(subject)
            if key_id is not None:
                self._sealers.pop(key_id, None)
        return UUID(hex=found) if found is not None else None

    def is_destroyed(self, subject: str) -> bool:
        t = self.table.c
        with self._engine.connect() as conn:
            row = conn.execute(select(t.wrapped.is_(None)).where(t.subject == subject)).first()
        return bool(row is not None and row[0])

    def check_kek(self, at: datetime) -> None:
        """Fail early, with a clear message, if the KEK is not the one this store was made with."""
        self.sealer(self.ensure_key(AUDIT_SUBJECT, at))
