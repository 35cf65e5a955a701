"""A projection follows one store's notification log and keeps read tables beside it.

Each batch of notifications is applied in one database transaction together with the
projection's tracking row, so a projection killed mid-way resumes exactly where its last
committed batch ended, and no notification is applied twice. The tracking update is
conditional on the position read at the start of the batch: two processes catching up
at once cannot both apply the same batch (the loser rolls back and re-reads).

Read tables hold no note content and no client identity: ids, codes, times and flags.
Anything else a report needs is read from the (sealed) event itself when it is shown.
On the embedded SQLite store the library's push subscription is not available, so
projections are pulled: each report catches up before it answers, and
``ledger projections`` shows and rebuilds them.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    MetaData,
    String,
    Table,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from ledger.stores.store import Store

BATCH = 500
CREATE_ATTEMPTS = 8
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Status:
    name: str
    store: str
    position: int
    behind: int


class Tracked(ABC):
    """Tables kept beside a store's log with a tracking row: created on first use, emptied
    and refilled by ``rebuild``, advanced batch by batch under a conditional update."""

    name: str

    def __init__(self, store: Store) -> None:
        self.store = store
        self.metadata = MetaData(schema=store.settings.schema)
        self.prefix = f"{store.name.lower()}_"
        self.tracking = Table(
            f"{self.prefix}projection_tracking", self.metadata,
            Column("name", String(64), primary_key=True),
            Column("position", BigInteger, nullable=False))
        self.tables: list[Table] = self.define(self.metadata)
        self._create_tables()

    def _create_tables(self) -> None:
        """Create the read tables if missing. Processes opening a new store at the same
        moment race between the check and the CREATE; the loser looks again."""
        for attempt in range(CREATE_ATTEMPTS):
            try:
                self.metadata.create_all(self.store.engine, checkfirst=True)
                return
            except (IntegrityError, ProgrammingError, OperationalError):
                if attempt == CREATE_ATTEMPTS - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))

    @abstractmethod
    def define(self, metadata: MetaData) -> list[Table]:
        """The tables this keeps (besides the tracking table)."""

    @abstractmethod
    def catch_up(self, *, batch: int = BATCH, progress: Progress | None = None) -> int:
        """Bring the tables up to the log; returns how many entries were taken in."""

    @abstractmethod
    def behind(self) -> int:
        """How many log entries are not taken in yet."""


    def position(self, conn: Connection | None = None) -> int:
        query = select(self.tracking.c.position).where(self.tracking.c.name == self.name)
        if conn is not None:
            return conn.execute(query).scalar() or 0
        with self.store.engine.connect() as c:
            return c.execute(query).scalar() or 0

    def status(self) -> Status:
        return Status(self.name, self.store.settings.name, self.position(), self.behind())

    def rebuild(self, *, batch: int = BATCH, progress: Progress | None = None) -> int:
        """Empty the read tables and replay the whole log, from position 0."""
        with self.store.engine.begin() as conn:
            # The tracking row first: it waits for (and then excludes) a batch in flight,
            # so no rows of that batch survive the emptying below.
            conn.execute(self.tracking.delete().where(self.tracking.c.name == self.name))
            for table in reversed(self.tables):
                conn.execute(table.delete())
        return self.catch_up(batch=batch, progress=progress)

    def _advance(self, conn: Connection, start: int, end: int) -> bool:
        """Move the tracking row from ``start`` to ``end``; False if it was not at ``start``.
        (RETURNING, because some drivers report no row count for these statements.)"""
        if start == 0:
            dialect = conn.dialect.name
            insert = (pg_insert if dialect == "postgresql" else sqlite_insert)(self.tracking)
            statement = insert.values(name=self.name, position=end).on_conflict_do_nothing()
        else:
            statement = update(self.tracking).where(  # type: ignore[assignment]
                self.tracking.c.name == self.name, self.tracking.c.position == start
            ).values(position=end)
        return conn.execute(statement.returning(self.tracking.c.name)).first() is not None


class Projection(Tracked):
    """Subclasses name themselves, say which event classes they read, define their tables
    and turn one event into rows."""

    reads: tuple[type, ...]

    def __init__(self, store: Store) -> None:
        self.topics = [get_topic(cls) for cls in self.reads]
        super().__init__(store)

    @abstractmethod
    def apply(self, conn: Connection, position: int, event: Any) -> None:
        """Write the rows for one event, inside the batch's transaction."""

    def behind(self) -> int:
        """How many notifications this projection reads are not applied yet."""
        return self.count(after=self.position())

    def count(self, after: int = 0) -> int:
        """How many notifications this projection reads lie after position ``after``."""
        events = self.store.chained_recorder.events_record_cls.__table__
        with self.store.engine.connect() as conn:
            count = conn.execute(select(func.count()).select_from(events).where(
                events.c.id > after, events.c.topic.in_(self.topics))).scalar()
        return int(count or 0)

    def catch_up(self, *, batch: int = BATCH, progress: Progress | None = None) -> int:
        """Apply every notification not yet applied; returns how many were applied."""
        applied = 0
        while True:
            start = self.position()
            page = self.store.recorder.select_notifications(
                start + 1, batch, topics=self.topics)
            if not page:
                return applied
            if self._apply_batch(start, page):
                applied += len(page)
                if progress is not None:
                    progress(len(page))

    def _apply_batch(self, start: int, page: Sequence[Notification]) -> bool:
        events = [(n.id, self.store.mapper.to_domain_event(n)) for n in page]
        try:
            with self.store.engine.begin() as conn:
                if not self._advance(conn, start, page[-1].id):
                    raise _Overtaken
                for position, event in events:
                    self.apply(conn, position, event)
        except _Overtaken:
            return False  # another process applied this batch first; nothing was written
        return True


class _Overtaken(Exception):
    """Raised inside a batch's transaction to roll it back."""
