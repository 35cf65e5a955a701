"""The versions (epochs) of a store's key-encryption key, recorded beside its data keys.

One row per version: which provider keeps it, when it was made, when every live data key was
re-wrapped under it (the end of its rotation), and when it was retired (destroyed). A store
made before versions existed has one version, 1, kept in the key file. The current version
is the newest one not retired: new data keys are wrapped under it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from ledger.errors import KeyMaterialError


def _utc(value: datetime | None) -> datetime | None:
    """SQLite gives back naive times (stored as UTC)."""
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)


def epochs_table(metadata: MetaData, prefix: str, schema: str | None) -> Table:
    return Table(
        f"{prefix}_kek_versions",
        metadata,
        Column("version", Integer, primary_key=True, autoincrement=False),
        Column("provider", String(16), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=True),
        Column("rotated_at", DateTime(timezone=True), nullable=True),
        Column("retired_at", DateTime(timezone=True), nullable=True),
        schema=schema,
    )


@dataclass(frozen=True)
class Epoch:
    version: int
    provider: str
    created_at: datetime | None  # None: version 1 of a store older than epochs
    rotated_at: datetime | None  # every live key was re-wrapped under it (None: rotating)
    retired_at: datetime | None


class Epochs:
    """The versions table of one store."""

    def __init__(self, engine: Engine, prefix: str, schema: str | None) -> None:
        self._engine = engine
        self.table = epochs_table(MetaData(), prefix, schema)

    def create_table(self, provider: str, first_key_at: datetime | None) -> None:
        """Create the table; a store without versions gets version 1, kept by ``provider``
        (the configured one: the key file, for a store made before providers existed)."""
        self.table.create(self._engine, checkfirst=True)
        if self.all():
            return
        with contextlib.suppress(IntegrityError), self._engine.begin() as conn:
            conn.execute(insert(self.table), [{
                "version": 1, "provider": provider, "created_at": first_key_at,
                "rotated_at": first_key_at, "retired_at": None}])

    def all(self) -> list[Epoch]:
        t = self.table.c
        with self._engine.connect() as conn:
            rows = conn.execute(select(t.version, t.provider, t.created_at, t.rotated_at,
                                       t.retired_at).order_by(t.version)).all()
        return [Epoch(v, p, _utc(c), _utc(r), _utc(x)) for v, p, c, r, x in rows]

    def get(self, version: int) -> Epoch | None:
        return next((e for e in self.all() if e.version == version), None)

    def current(self) -> Epoch:
        live = [e for e in self.all() if e.retired_at is None]
        if not live:
            raise KeyMaterialError("every key-encryption key version of this store is retired")
        return live[-1]

    def add(self, version: int, provider: str, at: datetime) -> bool:
        """Record a new version; False if it was recorded already (a rerun)."""
        try:
            with self._engine.begin() as conn:
                conn.execute(insert(self.table), [{
                    "version": version, "provider": provider, "created_at": at,
                    "rotated_at": None, "retired_at": None}])
        except IntegrityError:
            return False
        return True

    def mark(self, version: int, column: str, at: datetime) -> None:
        t = self.table.c
        with self._engine.begin() as conn:
            conn.execute(update(self.table).where(
                t.version == version, getattr(t, column).is_(None)).values({column: at}))

    def unmark(self, version: int, column: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(update(self.table).where(self.table.c.version == version)
                         .values({column: None}))

    def fill_created(self, at: datetime) -> None:
        """Date version 1 of a new store (made before its first key)."""
        t = self.table.c
        with self._engine.begin() as conn:
            conn.execute(update(self.table).where(t.version == 1, t.created_at.is_(None))
                         .values(created_at=at, rotated_at=func.coalesce(t.rotated_at, at)))


def backup_horizon(epochs: list[Epoch], version: int, retention_days: int) -> str:
    """Until when a copy of a key destroyed under ``version`` may still be opened: a backup
    taken under that epoch (or an older one) holds it wrapped under that epoch's KEK only,
    so it is noise once the epoch is retired; the scheduled job retires an epoch once its
    successor is older than the backup retention."""
    epoch = next((e for e in epochs if e.version == version), None)
    if epoch is not None and epoch.retired_at is not None:
        return (f"no copy can be opened: epoch {version} was retired on "
                f"{epoch.retired_at.date().isoformat()}")
    successor = next((e for e in epochs if e.version > version and e.created_at), None)
    if successor is None or successor.created_at is None:
        return (f"in backups until epoch {version} is retired, at the latest when epoch "
                f"{version} is retired (no rotation has followed yet)")
    latest = (successor.created_at + timedelta(days=retention_days)).date()
    return (f"in backups until epoch {version} is retired, at the latest "
            f"{latest.isoformat()}")
