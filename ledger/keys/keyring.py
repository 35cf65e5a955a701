"""Per-subject data keys, wrapped by a version of the store's key-encryption key (KEK).

The KEK lives outside the database, with its provider (:mod:`ledger.keys.provider`). The
keys table holds only wrapped keys, each bound to its key id by AES-GCM associated
data, so a wrapped key cannot be moved to another row, and each row names the KEK version
that wrapped it (:mod:`ledger.keys.epochs`); several versions may be in use at once while a
rotation re-wraps the keys (:meth:`KeyRing.rewrap`). Each store also has one
*audit* key for metadata that must outlive any content purge; it is never destroyed.
A key id is random and never reissued; one subject has at most one key, ever.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from uuid import UUID, uuid4

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    bindparam,
    func,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError

from ledger.errors import BadInput, ContentDestroyed, KeyMaterialError, NotFound, NotInitialised
from ledger.keys.epochs import Epochs, backup_horizon
from ledger.keys.provider import Kek, KekProvider
from ledger.primitives.crypto import CryptoError, Sealer, new_key

AUDIT_SUBJECT = "audit"
PRELOAD_PAGE = 500


def keys_table(metadata: MetaData, prefix: str, schema: str | None) -> Table:
    return Table(
        f"{prefix}_keys",
        metadata,
        Column("key_id", String(32), primary_key=True),
        Column("subject", String(64), nullable=False, unique=True),
        Column("wrapped", LargeBinary(), nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("destroyed_at", DateTime(timezone=True), nullable=True),
        Column("kek_version", Integer, nullable=False, server_default=text("1")),
        schema=schema,
    )


class KeyRing:
    """Creates, caches and unwraps a store's data keys."""

    def __init__(self, engine: Engine, providers: Callable[[str | None], KekProvider],
                 prefix: str, schema: str | None) -> None:
        """``providers(name)``: this store's provider by name (None: the configured one)."""
        self._engine = engine
        self._providers = providers
        self.table = keys_table(MetaData(), prefix, schema)
        self.epochs = Epochs(engine, prefix, schema)
        self._keks: dict[int, Kek] = {}
        self._sealers: dict[UUID, Sealer] = {}
        self._by_subject: dict[str, UUID] = {}
        self._lock = threading.Lock()

    def create_table(self) -> None:
        """The keys and versions tables; a keys table older than versions gets its column
        (every existing key is under version 1, the key it was made with)."""
        self.table.create(self._engine, checkfirst=True)
        with self._engine.connect() as conn:
            columns = {c["name"] for c in inspect(conn).get_columns(
                self.table.name, schema=self.table.schema)}
        if "kek_version" not in columns:
            name = (f'"{self.table.schema}"."{self.table.name}"' if self.table.schema
                    else f'"{self.table.name}"')
            try:
                with self._engine.begin() as conn:
                    conn.exec_driver_sql(f"ALTER TABLE {name} ADD COLUMN kek_version "
                                         "INTEGER NOT NULL DEFAULT 1")
            except DBAPIError:  # another process added it at the same moment
                with self._engine.connect() as conn:
                    if "kek_version" not in {c["name"] for c in inspect(conn).get_columns(
                            self.table.name, schema=self.table.schema)}:
                        raise
        with self._engine.connect() as conn:
            first = conn.execute(select(func.min(self.table.c.created_at))).scalar()
        self.epochs.create_table(self._providers(None).name, first)

    def kek(self, version: int) -> Kek:
        """Version ``version`` of the KEK, from the provider that keeps it."""
        cached = self._keks.get(version)
        if cached is not None:
            return cached
        epoch = self.epochs.get(version)
        if epoch is None:
            raise KeyMaterialError(f"key-encryption key version {version} is not recorded "
                                   "for this store")
        if epoch.retired_at is not None:
            raise KeyMaterialError(f"key-encryption key version {version} was retired on "
                                   f"{epoch.retired_at.date().isoformat()}")
        provider = self._providers(epoch.provider)
        if not provider.exists(version):
            raise NotInitialised(
                f"key-encryption key version {version} is not in its {provider.name} provider: "
                "restore it from your key backup (see README \"Key-encryption keys\")")
        kek = provider.load(version)
        with self._lock:
            self._keks[version] = kek
        return kek

    def forget(self, version: int) -> None:
        with self._lock:
            self._keks.pop(version, None)

    def ensure_key(self, subject: str, at: datetime) -> UUID:
        """The key id for ``subject``, creating and storing a wrapped key on first use."""
        existing = self.key_id_for(subject)
        if existing is not None:
            return existing
        key_id = uuid4()
        dek = new_key()
        kek = self.kek(self.epochs.current().version)
        row = {"key_id": key_id.hex, "subject": subject, "kek_version": kek.version,
               "wrapped": kek.wrap(dek, key_id.bytes), "created_at": at}
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

    def ensure_keys(self, subjects: Iterable[str], at: datetime) -> None:
        """The data keys of ``subjects`` that have none yet, each made as :meth:`ensure_key`
        makes one, stored in one transaction (an import sealing many clients' records at
        once); if another writer made one of them meanwhile, one at a time instead."""
        missing = [s for s in dict.fromkeys(subjects) if self.key_id_for(s) is None]
        if not missing:
            return
        kek = self.kek(self.epochs.current().version)
        made = {s: (uuid4(), new_key()) for s in missing}
        rows = [{"key_id": key_id.hex, "subject": s, "kek_version": kek.version,
                 "wrapped": kek.wrap(dek, key_id.bytes), "created_at": at}
                for s, (key_id, dek) in made.items()]
        try:
            with self._engine.begin() as conn:
                conn.execute(insert(self.table), rows)
        except IntegrityError:
            for s in missing:
                self.ensure_key(s, at)
            return
        with self._lock:
            for s, (key_id, dek) in made.items():
                self._by_subject[s] = key_id
                self._sealers[key_id] = Sealer(dek)

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
                select(t.wrapped, t.kek_version).where(t.key_id == key_id.hex)
            ).first()
        if row is None:
            raise KeyMaterialError(f"data key {key_id} is not in the key table")
        if row.wrapped is None:
            raise ContentDestroyed(f"content under key {key_id} was destroyed")
        dek = self._unwrap(key_id, bytes(row.wrapped), row.kek_version)
        sealer = Sealer(dek)
        with self._lock:
            self._sealers[key_id] = sealer
        return sealer

    def preload(self, key_ids: Iterable[UUID]) -> None:
        """Unwrap these data keys, a page of them per read, for a batch about to open many
        subjects' events (one read per key otherwise). Destroyed keys are left out: their
        :meth:`sealer` refuses as before."""
        wanted = sorted({k.hex for k in key_ids if k not in self._sealers})
        t = self.table.c
        with self._engine.connect() as conn:
            for i in range(0, len(wanted), PRELOAD_PAGE):
                rows = conn.execute(select(t.key_id, t.wrapped, t.kek_version).where(
                    t.key_id.in_(wanted[i:i + PRELOAD_PAGE]), t.wrapped.is_not(None)))
                for found, wrapped, version in rows:
                    key_id = UUID(hex=found)
                    sealer = Sealer(self._unwrap(key_id, bytes(wrapped), version))
                    with self._lock:
                        self._sealers[key_id] = sealer

    def _unwrap(self, key_id: UUID, wrapped: bytes, version: int) -> bytes:
        try:
            return self.kek(version).unwrap(wrapped, key_id.bytes)
        except CryptoError:
            raise KeyMaterialError(
                "the key-encryption key does not match this store "
                f"(cannot unwrap data key {key_id} with version {version})"
            ) from None

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

    # ----- rotation ----------------------------------------------------------------------------

    def rewrap(self, target: int, limit: int, after: str = "") -> tuple[int, str]:
        """Re-wrap, in one transaction, at most ``limit`` live keys not under version
        ``target``, the first ones by key id after ``after`` (the previous batch's last key
        id: the primary key's order, so a pass reads the table once). Each row changes only
        if it is still as read (a purge that destroyed it meanwhile wins). Returns how many
        keys were found (0: none left after ``after``) and the last key id seen."""
        t = self.table.c
        new = self.kek(target)
        with self._engine.begin() as conn:
            rows = conn.execute(select(t.key_id, t.wrapped, t.kek_version).where(
                t.key_id > after, t.wrapped.is_not(None), t.kek_version != target)
                .order_by(t.key_id).limit(limit)).all()
            changes = []
            for row in rows:
                key_id = UUID(hex=row.key_id)
                dek = self._unwrap(key_id, bytes(row.wrapped), row.kek_version)
                changes.append({"k": row.key_id, "was": row.kek_version,
                                "new": new.wrap(dek, key_id.bytes)})
            if changes:  # one statement, executed for every row (executemany)
                conn.execute(update(self.table).where(
                    t.key_id == bindparam("k"), t.kek_version == bindparam("was"),
                    t.wrapped.is_not(None)).values(wrapped=bindparam("new"),
                                                   kek_version=target), changes)
        return len(rows), (rows[-1].key_id if rows else after)

    def live_keys(self) -> dict[int, int]:
        """How many live (not destroyed) wrapped keys each KEK version wraps."""
        t = self.table.c
        with self._engine.connect() as conn:
            rows = conn.execute(select(t.kek_version, func.count()).where(
                t.wrapped.is_not(None)).group_by(t.kek_version)).all()
        return {int(version): int(count) for version, count in rows}

    def destroyed_keys(self, version: int) -> int:
        """How many keys were destroyed while wrapped under ``version``."""
        t = self.table.c
        with self._engine.connect() as conn:
            return int(conn.execute(select(func.count()).where(
                t.wrapped.is_(None), t.kek_version == version)).scalar() or 0)

    def backup_horizon(self, subject: str, retention_days: int,
                       receipt_version: int | None = None) -> str | None:
        """Until when a copy of ``subject``'s destroyed key may exist (None: not destroyed).
        ``receipt_version``: the version the destruction receipt recorded, in the chain;
        the later of it and the keys table's (a rotation may have re-wrapped the key after
        the receipt), so an edit of the table's column can only make the answer later."""
        version = self.destroyed_under(subject)
        if version is None:
            return None
        return backup_horizon(self.epochs.all(), max(version, receipt_version or 0),
                              retention_days)

    def version_of(self, subject: str) -> int | None:
        """The KEK version ``subject``'s key is wrapped under now (None: it has no key)."""
        t = self.table.c
        with self._engine.connect() as conn:
            found = conn.execute(select(t.kek_version).where(t.subject == subject)).scalar()
        return None if found is None else int(found)

    def destroyed_under(self, subject: str) -> int | None:
        """The KEK version a destroyed key was last wrapped under (None: not destroyed)."""
        t = self.table.c
        with self._engine.connect() as conn:
            row = conn.execute(select(t.kek_version, t.wrapped.is_(None)).where(
                t.subject == subject)).first()
        return int(row[0]) if row is not None and row[1] else None

    def begin_rotation(self, at: datetime) -> tuple[int, bool]:
        """The version a rotation re-wraps the keys under, and whether it resumes one: the
        current version while its rotation has not ended, else a new version made now in
        the configured provider (made before it is recorded: a crash in between finds the
        key there and uses it, never makes a second)."""
        current = self.epochs.current()
        if current.rotated_at is None and current.version > 1:  # version 1 needs none
            return current.version, True
        version = max(e.version for e in self.epochs.all()) + 1
        provider = self._providers(None)
        provider.create(version)
        self.epochs.add(version, provider.name, at)
        return version, False

    def retire(self, version: int, at: datetime) -> bool:
        """Destroy version ``version`` of the KEK once nothing needs it. Refused for the
        current version, while the current version's rotation has not ended, and while any
        live key is wrapped under it. Marked retired before its key is destroyed, so a
        crash in between is finished by a rerun. True if this call retired it."""
        epoch = self.epochs.get(version)
        if epoch is None:
            raise NotFound(f"key-encryption key version {version} does not exist")
        provider = self._providers(epoch.provider)
        if epoch.retired_at is not None:
            provider.destroy(version)  # idempotent: finishes a retirement cut short
            return False
        current = self.epochs.current()
        if version == current.version:
            raise BadInput(f"version {version} is the current key-encryption key; rotate "
                           "first ('ledger keys rotate'), then retire it")
        if current.rotated_at is None and current.version > 1:
            raise BadInput(f"the rotation to version {current.version} has not finished; "
                           "run 'ledger keys rotate' again to finish it, then retire")
        live = self.live_keys().get(version, 0)
        if live:
            raise BadInput(f"version {version} still wraps {live} live data key(s); "
                           "run 'ledger keys rotate' to re-wrap them, then retire")
        self.epochs.mark(version, "retired_at", at)
        late = self.live_keys().get(version, 0)
        if late:  # a writer that read the current version before the rotation: back out
            self.epochs.unmark(version, "retired_at")
            raise BadInput(f"version {version} wraps {late} live data key(s) written "
                           "meanwhile; run 'ledger keys rotate', then retire")
        self.forget(version)
        provider.destroy(version)
        return True
