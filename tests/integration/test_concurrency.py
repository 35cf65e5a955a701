"""Concurrent writers on one store: no lost events, no chain fork, every note readable.

Several *processes* (each with its own MainStore, as several CLI invocations would have)
and several threads sharing one MainStore write, amend and read notes at once, on a
SQLite file and on PostgreSQL. Half the writes go to one shared client and every worker
amends one shared note, so optimistic-concurrency conflicts (and the services' retries)
happen. Afterwards the store must verify, hold exactly the events the operations append,
and have a gap-free chain.
"""

from __future__ import annotations

import json
import multiprocessing
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError
from sqlalchemy import func, select

from ledger.bootstrap import Ledger, open_ledger
from ledger.settings import Settings
from ledger.stores.main import MainStore
from tests.conftest import AT, seed

pytestmark = pytest.mark.slow

WORKERS = 4
NOTES_PER_WORKER = 25
JOIN_TIMEOUT_S = 120.0

# Events each service appends (counted from ledger/services/):
ADD_STAFF_EVENTS = 1  # the StaffMember.Added event (no audit entry)
REGISTER_EVENTS = 2  # Client.Registered + audit entry
WRITE_EVENTS = 4  # ProgressNote.Written + Client.NoteAttached + RecordDates + audit entry
AMEND_EVENTS = 3  # ProgressNote.Amended + RecordDates.Amended + audit entry
READ_EVENTS = 1  # audit entry
LIST_EVENTS = 1  # audit entry

SEED_EVENTS = 7 * ADD_STAFF_EVENTS + REGISTER_EVENTS  # tests.conftest.seed
SHARED_CLIENT = "C-1"


def _amends(i: int) -> bool:
    return i % 5 == 0


def _reads(i: int) -> bool:
    return i % 3 == 0


def _to_shared_client(i: int) -> bool:
    return i % 2 == 0


def note_text(worker: str, i: int) -> str:
    return f"note {i} by worker {worker}"


def events_per_worker(n: int) -> int:
    amends = sum(1 for i in range(n) if _amends(i))
    reads = sum(1 for i in range(n) if _reads(i))
    return (REGISTER_EVENTS + n * WRITE_EVENTS + amends * AMEND_EVENTS + reads * READ_EVENTS
            + LIST_EVENTS)


@dataclass
class WorkerResult:
    worker: str
    notes: list[str] = field(default_factory=list)  # note ids, in order of i
    conflicts: int = 0  # IntegrityErrors seen by save (each one retried by the service)
    writes: int = 0
    amends: int = 0
    reads: int = 0
    lists: int = 0


def run_worker(lg: Ledger, worker: str, n: int, shared_note: UUID,
               wait: Callable[[], Any]) -> WorkerResult:
    """The workload of one writer: its own client, n notes, some amends and reads."""
    result = WorkerResult(worker)
    own_client = f"C-{worker}"
    author = "dr-lee" if sum(map(ord, worker)) % 2 == 0 else "dr-kim"
    wait()
    lg.clients.register(own_client, f"Client of {worker}", date(1980, 1, 2), "NY", by="desk",
                        at=AT)
    for i in range(n):
        client = SHARED_CLIENT if _to_shared_client(i) else own_client
        note_id = lg.notes.write(client, note_text(worker, i), by=author, session_date=None,
                                 at=AT)
        result.writes += 1
        result.notes.append(str(note_id))
        if _amends(i):
            lg.notes.amend(shared_note, f"amended by {worker} at {i}", f"reason {worker} {i}",
                           by="sup", at=AT)
            result.amends += 1
        if _reads(i):
            content = lg.notes.read(note_id, by=author, purpose="TREAT", version=None, at=AT)
            assert content.text == note_text(worker, i)
            result.reads += 1
    listed = lg.notes.list_notes(own_client, by=author, at=AT)
    result.lists += 1
    assert len(listed) == sum(1 for i in range(n) if not _to_shared_client(i))
    return result


def count_conflicts(app: MainStore, result: WorkerResult) -> None:
    """Count the IntegrityErrors (optimistic-concurrency conflicts) that ``save`` raises."""
    original = app.save

    def save(*args: Any, **kwargs: Any) -> Any:
        try:
            return original(*args, **kwargs)
        except IntegrityError:
            result.conflicts += 1
            raise

    app.save = save  # type: ignore[method-assign]


def process_worker(settings: Settings, index: int, n: int, shared_note: str,
                   barrier: Any, out: str) -> None:
    """Entry point of one writer process (spawned): opens its own MainStore."""
    worker = f"p{index}"
    seen = WorkerResult(worker)
    try:
        lg = open_ledger(settings)
        app = lg.main
        try:
            count_conflicts(app, seen)
            result = run_worker(lg, worker, n, UUID(shared_note),
                                lambda: barrier.wait(timeout=60))
            result.conflicts = seen.conflicts
        finally:
            lg.close()
    except Exception as e:
        record_error(out, e, "")
        raise SystemExit(1) from None
    Path(out).write_text(json.dumps(vars(result)), encoding="utf-8")


def record_error(out: str, error: Exception, where: str) -> None:
    """Leave the worker's error for the test (one summary line, then the traceback)."""
    first = (str(error).splitlines() or [""])[0][:300]
    summary = f"{type(error).__module__}.{type(error).__name__}{where}: {first}"
    Path(out).with_suffix(".error").write_text(f"{summary}\n{traceback.format_exc()}",
                                               encoding="utf-8")


def seed_with_shared_note(settings: Settings, lg: Ledger) -> tuple[UUID, int]:
    seed(lg)
    shared_note = lg.notes.write(SHARED_CLIENT, "the shared note", by="dr-lee",
                                 session_date=None, at=AT)
    before = lg.main.verify(use_known_head=False).events
    assert before == SEED_EVENTS + WRITE_EVENTS
    return shared_note, before


def check_chain(settings: Settings, app: MainStore, expected: int) -> None:
    """The store verifies, holds exactly ``expected`` events, and its chain has no gap."""
    report = app.verify(use_known_head=False)
    assert report.ok, report.damage.describe() if report.damage else report
    assert report.events == expected

    rec = app.event_log
    events = rec.events
    chain = rec.chain
    with app.engine.connect() as conn:
        n_events = conn.execute(select(func.count()).select_from(events)).scalar_one()
        event_ids = list(conn.execute(select(events.c.id).order_by(events.c.id)).scalars())
        links = conn.execute(select(chain.c.position, chain.c.notification_id)
                             .order_by(chain.c.position)).all()
    assert n_events == len(links) == expected
    positions = [int(p) for p, _ in links]
    assert positions == list(range(1, expected + 1)), "chain positions have gaps or duplicates"
    linked_ids = [int(nid) for _, nid in links]
    assert linked_ids == sorted(set(linked_ids)), "chain is not in notification-id order"
    assert linked_ids == [int(i) for i in event_ids], "chain and events table differ"


def check_store(settings: Settings, lg: Ledger, before: int, shared_note: UUID,
                results: list[WorkerResult], n: int) -> None:
    for r in results:
        assert (r.writes, r.amends, r.reads, r.lists) == (
            n, sum(1 for i in range(n) if _amends(i)), sum(1 for i in range(n) if _reads(i)), 1)
    check_chain(settings, lg.main, before + len(results) * events_per_worker(n))

    # Every written note reads back with its own text; no note id was issued twice.
    all_notes = [UUID(x) for r in results for x in r.notes]
    assert len(set(all_notes)) == len(all_notes) == len(results) * n
    for r in results:
        for i, note_id in enumerate(r.notes):
            content = lg.notes.read(UUID(note_id), by="sup", purpose="TREAT", version=None,
                                    at=AT)
            assert content.text == note_text(r.worker, i)
            assert content.versions == 1

    # No amendment of the shared note was lost.
    amends = sum(r.amends for r in results)
    shared = lg.notes.read(shared_note, by="sup", purpose="TREAT", version=None, at=AT)
    assert shared.versions == 1 + amends
    reasons = {lg.notes.read(shared_note, by="sup", purpose="TREAT", version=v,
                             at=AT).amendment_reason for v in range(2, amends + 2)}
    assert reasons == {f"reason {r.worker} {i}" for r in results for i in range(n) if _amends(i)}

    # No note attachment to the shared client was lost.
    listed = {s.note_id for s in lg.notes.list_notes(SHARED_CLIENT, by="sup", at=AT)}
    shared_client_notes = {UUID(r.notes[i]) for r in results for i in range(n)
                           if _to_shared_client(i)}
    assert listed == shared_client_notes | {shared_note}


def run_processes(target: Callable[..., None], settings: Settings, n: int, workers: int,
                  extra: tuple[Any, ...], tmp_path: Path) -> tuple[list[Path], dict[str, str]]:
    """Start ``workers`` spawned processes together; return their result files and errors."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(workers)
    outs = [tmp_path / f"worker-{k}.json" for k in range(workers)]
    procs = [ctx.Process(target=target, name=f"ledger-writer-{k}",
                         args=(settings, k, n, *extra, barrier, str(outs[k])))
             for k in range(workers)]
    for p in procs:
        p.start()
    try:
        for p in procs:
            p.join(JOIN_TIMEOUT_S)
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join()
    errors = {f"worker {k}": out.with_suffix(".error").read_text(encoding="utf-8")
              for k, out in enumerate(outs) if out.with_suffix(".error").exists()}
    errors.update({f"worker {k} exit code": str(p.exitcode)
                   for k, p in enumerate(procs) if p.exitcode != 0})
    return outs, errors


def describe(errors: dict[str, str]) -> str:
    """The summary line of every error, then the first error's traceback."""
    if not errors:
        return ""
    first = next(iter(errors.items()))
    lines = [f"{k}: {v.strip().splitlines()[0]}" for k, v in errors.items()]
    return "\n".join([*lines, f"--- {first[0]}:", first[1]])


def test_concurrent_writer_processes(settings: Settings, lg: Ledger,
                                     tmp_path: Path) -> None:
    shared_note, before = seed_with_shared_note(settings, lg)

    outs, errors = run_processes(process_worker, settings, NOTES_PER_WORKER, WORKERS,
                                 (str(shared_note),), tmp_path)
    assert not errors, describe(errors)

    results = [WorkerResult(**json.loads(out.read_text(encoding="utf-8"))) for out in outs]
    check_store(settings, lg, before, shared_note, results, NOTES_PER_WORKER)
    # The workload really raced: some saves conflicted and were retried by the services.
    assert sum(r.conflicts for r in results) > 0, [r.conflicts for r in results]


HOT_WORKERS = 8
HOT_NOTES = 25


def hot_client_worker(settings: Settings, index: int, n: int, barrier: Any, out: str) -> None:
    """Entry point of one writer process that writes ``n`` notes, all for the shared client."""
    worker = f"h{index}"
    notes: list[str] = []
    seen = WorkerResult(worker)
    conflicts_before = 0
    try:
        lg = open_ledger(settings)
        app = lg.main
        try:
            count_conflicts(app, seen)
            barrier.wait(timeout=60)
            for i in range(n):
                conflicts_before = seen.conflicts
                notes.append(str(lg.notes.write(SHARED_CLIENT, note_text(worker, i),
                                                by="dr-lee", session_date=None, at=AT)))
        finally:
            lg.close()
    except Exception as e:
        record_error(out, e, f" after {len(notes)} of {n} notes, with "
                     f"{seen.conflicts - conflicts_before} conflicts on the failed write")
        raise SystemExit(1) from None
    Path(out).write_text(json.dumps({"worker": worker, "notes": notes}), encoding="utf-8")


def test_many_writer_processes_on_one_client(settings: Settings, lg: Ledger,
                                             tmp_path: Path) -> None:
    """Eight clinicians' processes write notes for the same client at once. Every write must
    land: a conflict on the client aggregate is retried, never surfaced as an error."""
    seed(lg)
    app = lg.main
    outs, errors = run_processes(hot_client_worker, settings, HOT_NOTES, HOT_WORKERS, (),
                                 tmp_path)
    # Whatever happened, the chain must not be damaged.
    report = app.verify(use_known_head=False)
    assert report.ok, report.damage.describe() if report.damage else report
    assert not errors, describe(errors)

    check_chain(settings, app, SEED_EVENTS + HOT_WORKERS * HOT_NOTES * WRITE_EVENTS)
    written = {UUID(x) for out in outs
               for x in json.loads(out.read_text(encoding="utf-8"))["notes"]}
    assert len(written) == HOT_WORKERS * HOT_NOTES
    assert {s.note_id for s in lg.notes.list_notes(SHARED_CLIENT, by="sup", at=AT)} == written


def test_concurrent_writer_threads(settings: Settings, lg: Ledger) -> None:
    shared_note, before = seed_with_shared_note(settings, lg)

    barrier = threading.Barrier(WORKERS)
    results: list[WorkerResult | None] = [None] * WORKERS
    errors: list[str] = []

    def target(k: int) -> None:
        try:
            results[k] = run_worker(lg, f"t{k}", NOTES_PER_WORKER, shared_note,
                                    lambda: barrier.wait(timeout=60))
        except BaseException:
            errors.append(traceback.format_exc())
            barrier.abort()

    threads = [threading.Thread(target=target, args=(k,), name=f"ledger-writer-{k}")
               for k in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(JOIN_TIMEOUT_S)
    assert not any(t.is_alive() for t in threads), "a writer thread hung"
    assert not errors, "\n".join(errors)

    done = [r for r in results if r is not None]
    assert len(done) == WORKERS
    check_store(settings, lg, before, shared_note, done, NOTES_PER_WORKER)
