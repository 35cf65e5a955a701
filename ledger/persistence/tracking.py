"""Tables kept beside a store's log with a tracking row (read models, the Merkle tree).

Each batch is applied in one database transaction together with the tracking row, so a
follower killed mid-way resumes exactly where its last committed batch ended, and nothing
is applied twice. The tracking update is conditional on the position read at the start of
the batch (``WHERE position = <start>``, with RETURNING because some drivers report no row
count): two processes catching up at once can never both apply the same batch; the loser
rolls back and reads again. A tracking row set back by hand makes the next batch collide
with rows already written: that is an integrity failure, never a silent retry loop.
(eventsourcing's SQLAlchemy tracking recorder checks and then writes, which does not
exclude two followers applying one batch.)
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import BigInteger, Column, Connection, MetaData, String, Table, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from ledger.errors import IntegrityFailure
from ledger.persistence.log import EventLog

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

    def __init__(self, log: EventLog) -> None:
        self.log = log
        self.metadata = MetaData(schema=log.schema)
        self.prefix = f"{log.prefix}_"
        self.tracking = Table(
            f"{self.prefix}projection_tracking", self.metadata,
            Column("name", String(64), primary_key=True),
            Column("position", BigInteger, nullable=False))
        self.tables: list[Table] = self.define(self.metadata)
        self._create_tables()

    def _create_tables(self) -> None:
        """Create the tables if missing. Processes opening a new store at the same moment
        race between the check and the CREATE; the loser looks again."""
        for attempt in range(CREATE_ATTEMPTS):
            try:
                self.metadata.create_all(self.log.engine, checkfirst=True)
                return
            except (IntegrityError, ProgrammingError, OperationalError):
                if attempt == CREATE_ATTEMPTS - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))

    @abstractmethod
    def define(self, metadata: MetaData) -> list[Table]:
        """The tables this keeps (besides the tracking table)."""

    @abstractmethod
    def catch_up(self, *, batch: int | None = None, progress: Progress | None = None) -> int:
        """Bring the tables up to the log, ``batch`` entries per transaction (None: the
        follower's default); returns how many entries were taken in."""

    @abstractmethod
    def behind(self) -> int:
        """How many log entries are not taken in yet."""

    @abstractmethod
    def count(self, after: int = 0) -> int:
        """How many log entries this follows lie after ``after``."""

    def position(self, conn: Connection | None = None) -> int:
        query = select(self.tracking.c.position).where(self.tracking.c.name == self.name)
        if conn is not None:
            return conn.execute(query).scalar() or 0
        with self.log.engine.connect() as c:
            return c.execute(query).scalar() or 0

    def status(self) -> Status:
        return Status(self.name, self.log.name, self.position(), self.behind())

    def rebuild(self, *, batch: int | None = None, progress: Progress | None = None) -> int:
        """Empty the tables and replay the whole log, from position 0."""
        with self.log.engine.begin() as conn:
            # The tracking row first: it waits for (and then excludes) a batch in flight,
            # so no rows of that batch survive the emptying below.
            conn.execute(self.tracking.delete().where(self.tracking.c.name == self.name))
            for table in reversed(self.tables):
                conn.execute(table.delete())
        return self.catch_up(batch=batch, progress=progress)

    def advance(self, conn: Connection, start: int, end: int) -> bool:
        """Move the tracking row from ``start`` to ``end``; False if it was not at ``start``."""
        moved = update(self.tracking).where(
            self.tracking.c.name == self.name, self.tracking.c.position == start
        ).values(position=end).returning(self.tracking.c.name)
        if conn.execute(moved).first() is not None:
            return True
        if start != 0:
            return False
        dialect = conn.dialect.name
        insert = (pg_insert if dialect == "postgresql" else sqlite_insert)(self.tracking)
        statement = insert.values(name=self.name, position=end).on_conflict_do_nothing()
        return conn.execute(statement.returning(self.tracking.c.name)).first() is not None

    def overtaken(self, start: int) -> None:
        """After a batch lost its conditional update: another follower moved the tracking
        row on. If it is still at ``start``, nobody did, and retrying would spin forever."""
        if self.position() == start:
            raise IntegrityFailure(f"{self.log.name}: the {self.name} tracking row does not "
                                   "move; run ledger projections check")

    def moved_back(self, start: int) -> IntegrityFailure:
        """The error for rows that already exist after ``start``: the tracking row was set
        back (rows are only ever written together with it)."""
        return IntegrityFailure(f"{self.log.name}: the {self.name} read model already has "
                                f"rows after position {start}, where its tracking row says "
                                "it stands: the tracking row was moved back (run ledger "
                                "projections check, then rebuild it)")
