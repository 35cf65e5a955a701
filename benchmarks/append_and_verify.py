"""Append and verify throughput of the ledger, vs plain eventsourcing-sqlalchemy and raw drivers.

Run from the project root::

    .venv/bin/python benchmarks/append_and_verify.py              # full run (~1.5-2 minutes)
    .venv/bin/python benchmarks/append_and_verify.py --events 200 --verify-events 5000 --rounds 1

Three appenders do the same work, each on a fresh database, interleaved chunk by chunk:

* ``ledger``   - ``MainStore`` (chained recorder + sealing mapper + key ring, and the known
                 head recorded outside the database after every commit), driven by
                 ``app.save(...)`` of real ``ProgressNote`` and ``AuditEntry`` aggregates;
* ``baseline`` - a plain ``eventsourcing.application.Application`` on
                 ``eventsourcing_sqlalchemy`` (no chain, no cipher), saving the very same
                 aggregate classes;
* ``raw``      - sqlite3 / psycopg 3 inserting rows of the ledger's stored size into a table
                 of the same shape, one durable commit per row or per 100 rows.

Then ``ledger.integrity.verify.verify_store`` is timed over a populated ledger store. See
benchmarks/README.md for what each figure means. Nothing here is hard-coded: every figure
is measured by this run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import sqlalchemy as sa
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate

from ledger.aggregates.audit import AuditEntry
from ledger.aggregates.base import Actor, acting_as
from ledger.aggregates.progress_note import ProgressNote
from ledger.integrity.verify import verify_store
from ledger.primitives.chain import GENESIS, chain_hash, leaf_hash
from ledger.settings import StoreSettings
from ledger.stores.main import MainStore

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_URL_ENVS = ("LEDGER_BENCH_POSTGRES_URL", "LEDGER_TEST_POSTGRES_URL")

TARGET_APPEND_RATIO = 1.25  # ledger cost per event / baseline cost per event, at most
TARGET_VERIFY_SQLITE = 100_000  # verify_store events/s on SQLite, at least

BATCH = 100  # events per transaction in the batched measurement
AMEND_EVERY = 4  # one note amendment (1 KiB, sealed under the client) in every 4 events
N_NOTES = 50  # progress notes created (untimed) before each measurement
N_CLIENTS = 10  # distinct client subjects, i.e. distinct data keys
SETUP_EVENTS = N_NOTES + 1  # saved by setup_app, untimed
NOTE_TEXT = (
    "Session focused on sleep hygiene and the graded exposure plan agreed last week. "
    "Client reports two panic episodes, both shorter than before; used paced breathing. "
) * 7
NOTE_TEXT = NOTE_TEXT[:1024]
ACTOR = Actor(id="bench-clinician", role="clinician")
RAW_TABLE = "raw_events"


def now() -> datetime:
    return datetime.now(UTC)


# ----- workload ------------------------------------------------------------------------------


class Workload:
    """Produces the aggregates of the next save: 1 in 4 events a sealed note amendment.

    The other events are ``AuditEntry.Recorded`` (small, sealed under the audit key), each
    a new aggregate, as ``ProgressNotes.read`` would record them.
    """

    def __init__(self) -> None:
        self.clients = [uuid.uuid4() for _ in range(N_CLIENTS)]
        self.notes: list[ProgressNote] = []
        self.count = 0

    def create_notes(self) -> list[ProgressNote]:
        at = now()
        self.notes = [ProgressNote.write(self.clients[k % N_CLIENTS], NOTE_TEXT, None, at)
                      for k in range(N_NOTES)]
        return self.notes

    def next_save(self, events: int) -> list[Aggregate]:
        at = now()
        touched: dict[UUID, Aggregate] = {}
        entries: list[Aggregate] = []
        for _ in range(events):
            i = self.count
            note = self.notes[(i // AMEND_EVERY) % N_NOTES]
            if i % AMEND_EVERY == 0:
                note.amend(NOTE_TEXT, "clarified the exposure plan", at)
                touched[note.id] = note
            else:
                entries.append(AuditEntry.record(
                    action="access", outcome="granted", purpose="TREAT",
                    object_type="progress-note", object_id=note.id, client_id=note.client_id,
                    version=len(note.versions), at=at))
            self.count += 1
        return [*touched.values(), *entries]


def setup_app(app: Application[UUID]) -> Workload:
    """Untimed: create the notes (one save each) and one audit entry.

    This warms the caches and, on the ledger, creates every data key (the clients' and the
    audit key), so no key is created inside a timed region. Saves ``SETUP_EVENTS`` events.
    """
    workload = Workload()
    with acting_as(ACTOR):
        for note in workload.create_notes():
            app.save(note)
        app.save(AuditEntry.record(action="list", outcome="granted", object_type="progress-note",
                                   at=now()))
    return workload


def ledger_rows(events: int, pg: bool) -> list[tuple[Any, ...]]:
    """Rows exactly as the ledger stores them (topic, sealed state), for the raw inserts."""
    app = open_ledger("sqlite:///:memory:", None)
    try:
        workload = Workload()
        with acting_as(ACTOR):
            for note in workload.create_notes():
                note.collect_events()
            stored = [app.mapper.to_stored_event(e)
                      for agg in workload.next_save(events) for e in agg.collect_events()]
    finally:
        app.close()
    return [(s.originator_id if pg else s.originator_id.bytes, s.originator_version, s.topic,
             s.state) for s in stored]


# ----- applications --------------------------------------------------------------------------


class Baseline(Application[UUID]):
    """Plain eventsourcing-sqlalchemy: no chain, no cipher, default mapper."""

    name = "Baseline"


HEADS = tempfile.TemporaryDirectory(prefix="ledger-bench-heads-")  # removed at exit


def open_ledger(url: str, schema: str | None) -> MainStore:
    """The main store as the ledger opens it, with its own head file."""
    heads = Path(HEADS.name) / f"{uuid.uuid4().hex}.json"
    settings = StoreSettings(name="main", url=url, schema=schema,
                             kek_file=Path(os.devnull), kek_env="LEDGER_BENCH_UNUSED_KEK",
                             heads_file=heads)
    return MainStore(settings, os.urandom(32))


def open_baseline(url: str, schema: str | None) -> Baseline:
    env = {"PERSISTENCE_MODULE": "eventsourcing_sqlalchemy", "SQLALCHEMY_URL": url,
           "CREATE_TABLE": "y"}
    if schema:
        env["SQLALCHEMY_SCHEMA"] = schema
    return Baseline(env=env)


def app_engine(app: Application[UUID]) -> sa.Engine:
    engine = app.factory.datastore.engine  # type: ignore[attr-defined]
    assert isinstance(engine, sa.Engine)
    return engine


def close_app(app: Application[UUID]) -> None:
    app.close()
    app_engine(app).dispose()


# ----- backends ------------------------------------------------------------------------------


@dataclass
class Backend:
    """Hands out a fresh database (a new SQLite file, or a new PostgreSQL schema) per use."""

    name: str
    url: str
    tmp: Path
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    made: int = 0
    schemas: list[str] = field(default_factory=list)

    @property
    def is_pg(self) -> bool:
        return self.name == "postgres"

    @contextmanager
    def fresh(self, label: str) -> Iterator[tuple[str, str | None]]:
        self.made += 1
        if not self.is_pg:
            path = self.tmp / f"{label}-{self.made}.sqlite"
            try:
                yield f"sqlite:///{path}", None
            finally:
                for suffix in ("", "-wal", "-shm", "-journal"):
                    with suppress(FileNotFoundError):
                        Path(f"{path}{suffix}").unlink()
            return
        schema = f"bench_{self.run_id}_{self.made}"
        self.schemas.append(schema)
        self._pg_exec(f'CREATE SCHEMA "{schema}"')
        try:
            yield self.url, schema
        finally:
            self.drop(schema)

    def drop(self, schema: str) -> None:
        self._pg_exec(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        with suppress(ValueError):
            self.schemas.remove(schema)

    def drop_all(self) -> None:
        for schema in list(self.schemas):
            with suppress(Exception):
                self.drop(schema)

    def _pg_exec(self, sql: str) -> None:
        with psycopg.connect(libpq_url(self.url), autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]


def libpq_url(url: str) -> str:
    """The SQLAlchemy URL as a plain libpq URI for psycopg."""
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def sqlalchemy_pg_url(url: str) -> str:
    parsed = sa.make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def postgres_reachable(url: str) -> str | None:
    """None if PostgreSQL answers, else the reason."""
    try:
        with psycopg.connect(libpq_url(url), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as e:
        return f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e) else ''}"
    return None


# ----- appenders -----------------------------------------------------------------------------
#
# Each appender appends the next ``saves`` transactions when asked and returns the wall-clock
# and the CPU seconds of this process spent; the three of one measurement are driven in
# alternating chunks (see ``measure``).


class AppAppender:
    """An application (ledger or baseline) saving the workload's aggregates."""

    def __init__(self, app: Application[UUID], per_save: int) -> None:
        self.app = app
        self.per_save = per_save
        self.workload = setup_app(app)

    def chunk(self, saves: int) -> tuple[float, float]:
        app, workload, per_save = self.app, self.workload, self.per_save
        with acting_as(ACTOR):
            start, cpu = time.perf_counter(), time.process_time()
            for _ in range(saves):
                app.save(*workload.next_save(per_save))
            return time.perf_counter() - start, time.process_time() - cpu

    def sqlite_pragmas(self) -> str:
        with app_engine(self.app).connect() as conn:
            sync = conn.exec_driver_sql("PRAGMA synchronous").scalar()
            mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
        return f"journal_mode={mode}, synchronous={sync}"

    def close(self) -> None:
        close_app(self.app)


SQLITE_DDL = (
    f"CREATE TABLE {RAW_TABLE} (id INTEGER NOT NULL PRIMARY KEY, originator_id BINARY(16) "
    "NOT NULL, originator_version INTEGER NOT NULL, topic TEXT NOT NULL, state BLOB NOT NULL)",
    f"CREATE UNIQUE INDEX {RAW_TABLE}_aggregate_idx ON {RAW_TABLE} "
    "(originator_id, originator_version)",
)


class RawSqliteAppender:
    """sqlite3, WAL + synchronous=FULL, explicit BEGIN/COMMIT per transaction."""

    def __init__(self, path: str, rows: Sequence[tuple[Any, ...]], per_commit: int) -> None:
        self.rows, self.per_commit, self.next = rows, per_commit, 0
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        for ddl in SQLITE_DDL:
            self.conn.execute(ddl)
        self.sql = (f"INSERT INTO {RAW_TABLE} (originator_id, originator_version, topic, "
                    "state) VALUES (?, ?, ?, ?)")

    def chunk(self, saves: int) -> tuple[float, float]:
        conn, sql, rows, per, i = self.conn, self.sql, self.rows, self.per_commit, self.next
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(saves):
            conn.execute("BEGIN")
            if per == 1:
                conn.execute(sql, rows[i])
            else:
                conn.executemany(sql, rows[i:i + per])
            conn.execute("COMMIT")
            i += per
        seconds = time.perf_counter() - start, time.process_time() - cpu
        self.next = i
        return seconds

    def sqlite_pragmas(self) -> str:
        sync = self.conn.execute("PRAGMA synchronous").fetchone()[0]
        mode = self.conn.execute("PRAGMA journal_mode").fetchone()[0]
        return f"journal_mode={mode}, synchronous={sync}"

    def close(self) -> None:
        self.conn.close()


class RawPostgresAppender:
    """psycopg 3, one commit per transaction (synchronous_commit as the server has it)."""

    def __init__(self, url: str, schema: str, rows: Sequence[tuple[Any, ...]],
                 per_commit: int) -> None:
        self.rows, self.per_commit, self.next = rows, per_commit, 0
        table = f'"{schema}".{RAW_TABLE}'
        self.conn = psycopg.connect(libpq_url(url))
        self.conn.execute(  # type: ignore[call-overload]
            f"CREATE TABLE {table} (id BIGSERIAL PRIMARY KEY, originator_id UUID NOT NULL, "
            "originator_version BIGINT NOT NULL, topic TEXT NOT NULL, state BYTEA NOT NULL)")
        self.conn.execute(  # type: ignore[call-overload]
            f"CREATE UNIQUE INDEX ON {table} (originator_id, originator_version)")
        self.conn.commit()
        self.sql = (f"INSERT INTO {table} (originator_id, originator_version, topic, state) "
                    "VALUES (%s, %s, %s, %s)")

    def chunk(self, saves: int) -> tuple[float, float]:
        conn, sql, rows, per, i = self.conn, self.sql, self.rows, self.per_commit, self.next
        with conn.cursor() as cur:
            start, cpu = time.perf_counter(), time.process_time()
            for _ in range(saves):
                if per == 1:
                    cur.execute(sql, rows[i])  # type: ignore[arg-type]
                else:
                    cur.executemany(sql, rows[i:i + per])  # type: ignore[arg-type]
                conn.commit()
                i += per
            seconds = time.perf_counter() - start, time.process_time() - cpu
        self.next = i
        return seconds

    def close(self) -> None:
        self.conn.close()


# ----- measurements --------------------------------------------------------------------------

MODES = {"single": 1, "batch100": BATCH}
KINDS = ("ledger", "baseline", "raw")
CHUNKS = 10  # alternations per measurement


def open_appender(stack: ExitStack, backend: Backend, kind: str, per_save: int,
                  rows: Sequence[tuple[Any, ...]]) -> Any:
    url, schema = stack.enter_context(backend.fresh(kind))
    appender: Any
    if kind == "raw":
        if backend.is_pg:
            assert schema is not None
            appender = RawPostgresAppender(url, schema, rows, per_save)
        else:
            appender = RawSqliteAppender(url.removeprefix("sqlite:///"), rows, per_save)
    else:
        app = (open_ledger if kind == "ledger" else open_baseline)(url, schema)
        try:
            appender = AppAppender(app, per_save)
        except BaseException:
            close_app(app)
            raise
    stack.callback(appender.close)
    return appender


def measure(backend: Backend, events: int, per_save: int, rows: Sequence[tuple[Any, ...]],
            round_no: int, notes: dict[str, str]) -> dict[str, tuple[float, float]]:
    """(wall, CPU) seconds per kind for ``events`` events, the kinds alternating chunk by chunk.

    Each kind gets a fresh database; all three are set up (untimed) before the first chunk.
    Within the measurement the order rotates every chunk, so disk and CPU noise (other
    processes, fsync latency spikes) falls on all three alike.
    """
    saves = events // per_save
    chunks = min(CHUNKS, saves)
    sizes = [saves // chunks + (1 if c < saves % chunks else 0) for c in range(chunks)]
    wall = dict.fromkeys(KINDS, 0.0)
    cpu = dict.fromkeys(KINDS, 0.0)
    with ExitStack() as stack:
        appenders = {k: open_appender(stack, backend, k, per_save, rows) for k in KINDS}
        for c, n in enumerate(sizes):
            shift = (round_no + c) % len(KINDS)
            for kind in KINDS[shift:] + KINDS[:shift]:
                w, u = appenders[kind].chunk(n)
                wall[kind] += w
                cpu[kind] += u
        if not backend.is_pg:
            for kind in KINDS:
                notes.setdefault(kind, appenders[kind].sqlite_pragmas())
    return {k: (wall[k], cpu[k]) for k in KINDS}


def rate(events: int, seconds: float) -> float:
    return events / seconds if seconds > 0 else float("inf")


def append_benchmark(backend: Backend, sizes: dict[str, int], rounds: int,
                     log: Callable[[str], None]) -> dict[str, Any]:
    rows = {mode: ledger_rows(sizes[mode], backend.is_pg) for mode in MODES}
    runs: dict[str, dict[str, list[float]]] = {m: {k: [] for k in KINDS} for m in MODES}
    cpu_us: dict[str, dict[str, list[float]]] = {m: {k: [] for k in KINDS} for m in MODES}
    notes: dict[str, str] = {}
    for r in range(rounds):
        for mode, per_txn in MODES.items():
            n = sizes[mode]
            for kind, (wall, cpu) in measure(backend, n, per_txn, rows[mode], r, notes).items():
                runs[mode][kind].append(rate(n, wall))
                cpu_us[mode][kind].append(cpu / n * 1e6)
        log(f"  round {r + 1}/{rounds}: " + "; ".join(
            f"{mode} " + " ".join(f"{k}={runs[mode][k][-1]:,.0f}" for k in KINDS)
            for mode in MODES))
    result: dict[str, Any] = {"events": dict(sizes), "sqlite_pragmas": notes}
    for mode in MODES:
        med = {k: statistics.median(runs[mode][k]) for k in KINDS}
        result[mode] = {
            **{k: {"events_per_s": med[k], "us_per_event": 1e6 / med[k], "runs": runs[mode][k],
                   "cpu_us_per_event": statistics.median(cpu_us[mode][k]),
                   "cpu_us_runs": cpu_us[mode][k]}
               for k in KINDS},
            # cost per event = 1 / rate, so cost ratio ledger/x = rate_x / rate_ledger
            "ratio_ledger_to_baseline": med["baseline"] / med["ledger"],
            "ratio_ledger_to_raw": med["raw"] / med["ledger"],
            "paired_ratios_ledger_to_baseline": [
                b / x for b, x in zip(runs[mode]["baseline"], runs[mode]["ledger"], strict=True)],
            "cpu_ratio_ledger_to_baseline": (statistics.median(cpu_us[mode]["ledger"])
                                             / statistics.median(cpu_us[mode]["baseline"])),
        }
    return result


def raw_recompute(engine: sa.Engine, events: sa.Table, chain: sa.Table) -> int:
    """Reference floor for verify: one driver-level join read, leaf + chain recomputed."""
    def name(t: sa.Table) -> str:
        return f'"{t.schema}"."{t.name}"' if t.schema else f'"{t.name}"'
    sql = (f"SELECT e.id, e.originator_id, e.originator_version, e.topic, e.state, c.position, "
           f"c.leaf, c.chain FROM {name(events)} e JOIN {name(chain)} c "
           "ON c.notification_id = e.id ORDER BY c.position")
    previous, n = GENESIS, 0
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute(sql)
        while batch := cur.fetchmany(5000):
            for nid, oid, version, topic, state, position, leaf_b, chain_b in batch:
                oid_b = oid.bytes if isinstance(oid, UUID) else bytes(oid)
                leaf = leaf_hash(nid, oid_b, version, topic, bytes(state))
                previous = chain_hash(position, previous, leaf)
                if leaf != bytes(leaf_b) or previous != bytes(chain_b):
                    raise RuntimeError(f"raw recompute mismatch at position {position}")
                n += 1
        cur.close()
    finally:
        raw.close()
    return n


def verify_benchmark(backend: Backend, events: int, per_save: int, rounds: int,
                     log: Callable[[str], None]) -> dict[str, Any]:
    with backend.fresh("verify") as (url, schema):
        app = open_ledger(url, schema)
        try:
            workload = setup_app(app)
            start = time.perf_counter()
            with acting_as(ACTOR):
                done = 0
                while done < events:
                    step = min(per_save, events - done)
                    app.save(*workload.next_save(step))
                    done += step
            populate = time.perf_counter() - start
            log(f"  populated {events:,} events in {populate:.1f} s")
            rec = app.event_log
            table = rec.events
            expected = events + SETUP_EVENTS
            verify_runs: list[float] = []
            raw_runs: list[float] = []
            for _ in range(rounds):
                start = time.perf_counter()
                report = verify_store(app.engine, table, rec.chain, store="bench")
                seconds = time.perf_counter() - start
                if not report.ok or report.events != expected:
                    raise RuntimeError(f"verify_store: unexpected report {report}")
                verify_runs.append(rate(report.events, seconds))
                start = time.perf_counter()
                n = raw_recompute(app.engine, table, rec.chain)
                raw_runs.append(rate(n, time.perf_counter() - start))
        finally:
            close_app(app)
    return {"events_verified": expected, "populate_events_per_s": rate(events, populate),
            "populate_events_per_save": per_save,
            "verify_events_per_s": statistics.median(verify_runs), "verify_runs": verify_runs,
            "raw_recompute_events_per_s": statistics.median(raw_runs),
            "raw_recompute_runs": raw_runs}


# ----- report --------------------------------------------------------------------------------

LABELS = {"ledger": "ledger (MainStore: chain+seal+keys+head)",
          "baseline": "baseline (eventsourcing-sqlalchemy)",
          "raw": "raw driver ({driver})"}


def verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


def print_append(result: dict[str, Any], driver: str) -> None:
    print(f"  append: events/s, wall us/event and this process's CPU us/event "
          f"(median of {len(result['single']['ledger']['runs'])} rounds)")
    print(f"    {'':38}{'single (1 event/txn)':>30}{'batch100 (100 events/txn)':>30}")
    for kind in KINDS:
        cells = "".join(f"{result[m][kind]['events_per_s']:>11,.0f}/s "
                        f"{result[m][kind]['us_per_event']:>6,.0f} us "
                        f"{result[m][kind]['cpu_us_per_event']:>5,.0f} cpu" for m in MODES)
        print(f"    {LABELS[kind].format(driver=driver):38}{cells}")
    for key, label in (("ratio_ledger_to_baseline", "cost ratio ledger / baseline"),
                       ("ratio_ledger_to_raw", "cost ratio ledger / raw"),
                       ("cpu_ratio_ledger_to_baseline", "  CPU-only ratio ledger / baseline")):
        cells = "".join(f"{result[m][key]:>30.3f}" for m in MODES)
        print(f"    {label:38}{cells}")
    marks = "".join(
        f"{verdict(result[m]['ratio_ledger_to_baseline'] <= TARGET_APPEND_RATIO):>30}"
        for m in MODES)
    print(f"    {f'target ledger/baseline <= {TARGET_APPEND_RATIO}':38}{marks}")
    for m in MODES:
        runs = "; ".join(f"{k} " + " ".join(f"{v:,.0f}" for v in result[m][k]["runs"])
                         for k in KINDS)
        paired = " ".join(f"{v:.2f}" for v in result[m]["paired_ratios_ledger_to_baseline"])
        print(f"    runs {m} (events/s): {runs}; per-round ledger/baseline {paired}")


def print_verify(result: dict[str, Any], is_sqlite: bool) -> None:
    rate_ = result["verify_events_per_s"]
    target = (f"  [target >= {TARGET_VERIFY_SQLITE:,}/s: "
              f"{verdict(rate_ >= TARGET_VERIFY_SQLITE)}]" if is_sqlite else "")
    print(f"  verify_store over {result['events_verified']:,} events: {rate_:,.0f} events/s "
          f"({result['events_verified'] / rate_:.2f} s){target}")
    print("    runs: " + " ".join(f"{v:,.0f}" for v in result["verify_runs"]))
    print(f"    populate (saves of {result['populate_events_per_save']:,} events): "
          f"{result['populate_events_per_s']:,.0f} events/s")
    print(f"    reference: driver-level join read + leaf/chain recompute: "
          f"{result['raw_recompute_events_per_s']:,.0f} events/s")


def versions() -> dict[str, str]:
    found = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    for dist in ("eventsourcing", "eventsourcing-sqlalchemy", "SQLAlchemy", "psycopg",
                 "cryptography"):
        with suppress(metadata.PackageNotFoundError):
            found[dist] = metadata.version(dist)
    return found


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--events", type=int, default=None,
                   help="events per append measurement (default 2000 single / 20000 batched; "
                        "when given, used for both, batched rounded up to a multiple of 100)")
    p.add_argument("--verify-events", type=int, default=100_000,
                   help="events populated before timing verify_store (default 100000)")
    p.add_argument("--verify-batch", type=int, default=1000,
                   help="events per save while populating (default 1000)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    p.add_argument("--skip-postgres", action="store_true", help="SQLite only")
    p.add_argument("--json", action="store_true",
                   help="also print one JSON object with every figure (last line)")
    args = p.parse_args(argv)
    if args.events is not None and args.events < 1:
        p.error("--events must be at least 1")
    if args.rounds < 1 or args.verify_events < 1 or args.verify_batch < 1:
        p.error("--rounds, --verify-events and --verify-batch must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    single = args.events or 2000
    batched = max(BATCH, -(-(args.events or 20_000) // BATCH) * BATCH)
    sizes = {"single": single, "batch100": batched}

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    info = versions()
    out: dict[str, Any] = {
        "versions": info, "cpus": os.cpu_count(), "rounds": args.rounds,
        "workload": {"amend_every": AMEND_EVERY, "note_text_chars": len(NOTE_TEXT),
                     "notes": N_NOTES, "clients": N_CLIENTS},
        "targets": {"append_ratio_max": TARGET_APPEND_RATIO,
                    "verify_sqlite_min_events_per_s": TARGET_VERIFY_SQLITE},
    }
    sample = ledger_rows(AMEND_EVERY, pg=False)
    sizes_b = [len(r[3]) for r in sample]
    out["workload"]["stored_state_bytes"] = {"amend": sizes_b[0], "audit": sizes_b[1]}
    print("Ledger append/verify benchmark  " + ", ".join(f"{k} {v}" for k, v in info.items())
          + f", {os.cpu_count()} CPUs")
    print(f"Workload: 1 in {AMEND_EVERY} events ProgressNote.Amended ({len(NOTE_TEXT)}-char text, "
          f"sealed under a client key; {sizes_b[0]:,} B stored by the ledger), the rest "
          f"AuditEntry.Recorded ({sizes_b[1]:,} B stored), over {N_NOTES} notes / {N_CLIENTS} "
          "clients.")
    print(f"Per measurement: {single:,} events single, {batched:,} events batch100; fresh "
          f"database each; {args.rounds} interleaved round(s), median reported.")

    backends: list[tuple[str, str | None]] = [("sqlite", None)]
    pg_url = sqlalchemy_pg_url(next((os.environ[e] for e in PG_URL_ENVS if os.environ.get(e)),
                                    DEFAULT_PG_URL))
    if args.skip_postgres:
        out["postgres"] = {"skipped": "--skip-postgres"}
    else:
        reason = postgres_reachable(pg_url)
        if reason:
            out["postgres"] = {"skipped": f"unreachable: {reason}"}
        else:
            backends.append(("postgres", pg_url))

    with tempfile.TemporaryDirectory(prefix="ledger-bench-") as tmp:
        for name, url in backends:
            backend = Backend(name, url or "", Path(tmp))
            try:
                log(f"[{name}] append ...")
                append = append_benchmark(backend, sizes, args.rounds, log)
                log(f"[{name}] verify ...")
                verify = verify_benchmark(backend, args.verify_events, args.verify_batch,
                                          args.rounds, log)
            finally:
                if backend.is_pg:
                    backend.drop_all()
            out[name] = {"append": append, "verify": verify}
            print()
            if backend.is_pg:
                safe = sa.make_url(pg_url).render_as_string(hide_password=True)
                print(f"== PostgreSQL ({safe}, one temporary schema per measurement, "
                      "dropped) ==")
            else:
                pragmas = "; ".join(f"{k}: {v}" for k, v in append["sqlite_pragmas"].items())
                print(f"== SQLite (file in a temp dir; {pragmas}) ==")
            print_append(append, "psycopg 3" if backend.is_pg else "sqlite3")
            print_verify(verify, is_sqlite=not backend.is_pg)
    if "skipped" in out.get("postgres", {}):
        print(f"\n== PostgreSQL skipped: {out['postgres']['skipped']} ==")
    if args.json:
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
