"""The scheduler's heartbeat: a small table in the main store's database (its own schema on
PostgreSQL, beside the job store ``ledger_scheduled_jobs``), so any process can read it.

One row per job: its last start, and the end and outcome of its last finished run (``ok``,
or ``failed`` with the error's kind, never its message or client data), and the pid that
ran it. One row named ``scheduler``: the scheduler's start, its last sign of life
(``alive_at``), its clean stop (``ended_at``) and its pid. Rows are upserted, so several
processes may write and read at once. Times are passed in (``at=``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, make_url

HEARTBEAT_TABLE = "ledger_job_heartbeats"
JOB_TABLE = "ledger_scheduled_jobs"  # APScheduler's job store, beside it
HEARTBEAT_SECONDS = 60  # how often a running scheduler records that it is alive
SCHEDULER = "scheduler"  # the scheduler's own row (no job has this id)
OK, FAILED = "ok", "failed"
SQLITE_BUSY_TIMEOUT_S = 30


@dataclass(frozen=True)
class Beat:
    """One row: a job's last run, or the scheduler's own life (``name == SCHEDULER``)."""

    name: str
    pid: int | None
    started_at: datetime | None
    ended_at: datetime | None
    outcome: str | None
    error: str | None
    alive_at: datetime | None


def _table(schema: str | None) -> sa.Table:
    return sa.Table(
        HEARTBEAT_TABLE, sa.MetaData(schema=schema),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("pid", sa.Integer),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.Column("outcome", sa.String(16)),
        sa.Column("error", sa.String(64)),
        sa.Column("alive_at", sa.DateTime(timezone=True)),
    )


def _utc(value: datetime | None) -> datetime | None:
    """SQLite keeps no offset: what was written as UTC comes back naive."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def database_exists(url: str) -> bool:
    """False for a SQLite file that does not exist (connecting would create it)."""
    parsed = make_url(url)
    return not (parsed.get_backend_name() == "sqlite" and parsed.database
                and parsed.database != ":memory:" and not Path(parsed.database).exists())


class Heartbeats:
    """The heartbeat table of one database. ``create()`` makes it (the scheduler does, at
    start); the writers never create anything."""

    def __init__(self, engine: Engine, schema: str | None) -> None:
        self.engine = engine
        self.table = _table(schema)
        self.schema = schema

    def create(self) -> None:
        try:
            self.table.create(self.engine, checkfirst=True)
        except sa.exc.DatabaseError:
            if not self.exists():  # another process made it in between: fine
                raise

    def exists(self) -> bool:
        return sa.inspect(self.engine).has_table(HEARTBEAT_TABLE, schema=self.schema)

    def started(self, job: str, *, at: datetime, pid: int) -> None:
        self._upsert(job, pid=pid, started_at=at.astimezone(UTC))

    def ended(self, job: str, *, at: datetime, pid: int, error: str | None) -> None:
        """The run ended: ``error`` is None (ok) or the kind of the failure."""
        self._upsert(job, pid=pid, ended_at=at.astimezone(UTC),
                     outcome=OK if error is None else FAILED, error=error)

    def scheduler_started(self, *, at: datetime, pid: int) -> None:
        self._upsert(SCHEDULER, pid=pid, started_at=at.astimezone(UTC),
                     alive_at=at.astimezone(UTC), ended_at=None)

    def alive(self, *, at: datetime, pid: int) -> None:
        self._upsert(SCHEDULER, pid=pid, alive_at=at.astimezone(UTC))

    def scheduler_stopped(self, *, at: datetime, pid: int) -> None:
        self._upsert(SCHEDULER, pid=pid, ended_at=at.astimezone(UTC))

    def read(self) -> list[Beat]:
        """Every row, by name; none if the table was never made."""
        if not self.exists():
            return []
        c = self.table.c
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(self.table).order_by(c.name)).all()
        return [Beat(name=r.name, pid=r.pid, started_at=_utc(r.started_at),
                     ended_at=_utc(r.ended_at), outcome=r.outcome, error=r.error,
                     alive_at=_utc(r.alive_at)) for r in rows]

    def _upsert(self, name: str, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(_upsert_statement(conn, self.table, name, values))


def _upsert_statement(conn: Connection, table: sa.Table, name: str,
                      values: dict[str, Any]) -> Any:
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    return insert(table).values(name=name, **values).on_conflict_do_update(
        index_elements=[table.c.name], set_=values)


@contextmanager
def heartbeats(url: str, schema: str | None) -> Iterator[Heartbeats]:
    """The heartbeat table at ``url``, its engine disposed afterwards."""
    connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_S} if url.startswith("sqlite") else {}
    engine = sa.create_engine(url, connect_args=connect_args)
    try:
        yield Heartbeats(engine, schema)
    finally:
        engine.dispose()
