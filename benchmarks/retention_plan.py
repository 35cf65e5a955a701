"""``retention plan`` at 1,000 clients / ~10^5 events and 10,000 clients / ~10^6 events,
and ``retention run`` destroying 1,000 due clients.

Run from the project root::

    .venv/bin/python benchmarks/retention_plan.py                     # 1k and 10k (long)
    .venv/bin/python benchmarks/retention_plan.py --sizes 200,2000    # quicker

For each size a SQLite data directory is built through the stores' own aggregates and
mapper (sealed, chained events; many clients per transaction): per client a
registration, an episode of care, contacts, progress notes with session dates (some
amended, some written before dates were recorded apart), reads of them, and
psychotherapy notes in the sealed store; one client in fifty is under a legal hold. The
read models then catch up (timed on its own: the first catch-up), and the plan is timed
``--rounds`` times (median) with the read models caught up, each time in a ledger opened
afresh (no key cached), as a ``ledger retention plan`` process runs it. The figure that matters is
the ratio of the two plans: the plan is O(clients), so 10x the clients should cost at most
12x the time (target: under 10 s at 10,000 clients). Then, on the smaller store, a real
``retention run`` destroys every due client (each checked against the primary log first)
and is timed. Every figure is measured here, in this process.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from uuid import UUID

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eventsourcing.domain import Aggregate

from ledger import settings as settings_module
from ledger.aggregates.audit import AuditEntry
from ledger.aggregates.base import Actor, acting_as
from ledger.aggregates.client import Client
from ledger.aggregates.hold import Hold
from ledger.aggregates.progress_note import ProgressNote
from ledger.aggregates.psychotherapy_note import PsychotherapyNote
from ledger.aggregates.record_dates import RecordDates
from ledger.bootstrap import Ledger, initialise, open_ledger

T0 = datetime(2002, 1, 1, tzinfo=UTC)  # when the history is written
PLAN_AT = datetime(2040, 1, 1, tzinfo=UTC)  # every client's rule has run out by then
NOTES, AMENDED, LEGACY, READS, CONTACTS, PN_NOTES = 12, 2, 2, 20, 5, 3
STATES = ("CA", "NY", "TX", "FL", "WA", "PA")


def client_history(lg: Ledger, i: int, at: datetime) -> tuple[list[Aggregate], list[Aggregate]]:
    """One client's aggregates for the main store and for the sealed store (~100 events)."""
    ref = f"B-{i}"
    client_id = lg.client_id(ref)
    client = Client.register(client_id, ref, f"Client {i}", date(1960, 1, 1) + timedelta(i % 900),
                             STATES[i % len(STATES)], at)
    start = date(2000, 1, 3) + timedelta(days=i % 200)
    client.open_episode("psychologist", None, start, at)
    main: list[Aggregate] = [client]
    pn: list[Aggregate] = []

    def entry(kind: str, action: str, note_id: UUID, version: int) -> AuditEntry:
        return AuditEntry.record(action=action, outcome="granted",  # type: ignore[arg-type]
                                 object_type=kind, object_id=note_id, client_id=client_id,
                                 version=version, at=at)

    for k in range(NOTES + LEGACY):
        session = start + timedelta(days=7 * k)
        note = ProgressNote.write(client_id, f"note {k}", session, at)
        client.attach_note(note.id, at)
        main += [note, entry("progress-note", "originate", note.id, 1)]
        if k >= NOTES:
            continue  # legacy: written before dates were recorded apart
        dates = RecordDates.record(client_id=client_id, note_id=note.id, session_date=session,
                                   at=at)
        main.append(dates)
        if k < AMENDED:
            note.amend(f"note {k} v2", "detail", at)
            dates.amended(at.date(), at)
            main.append(entry("progress-note", "amend", note.id, 2))
    for _ in range(READS):
        main.append(AuditEntry.record(action="access", outcome="granted",
                                      object_type="progress-note", object_id=main[1].id,
                                      client_id=client_id, purpose="TREAT", version=1, at=at))
    for k in range(CONTACTS):
        client.record_contact(start + timedelta(days=10 * k), at)
    client.close_episode(start + timedelta(days=400), "discharge", at)
    for k in range(PN_NOTES):
        session = start + timedelta(days=7 * k + 3)
        note = PsychotherapyNote.write(client_id, f"process {k}", session, at)
        pn += [note, RecordDates.record(client_id=client_id, note_id=note.id,
                                        session_date=session, at=at),
               entry("psychotherapy-note", "originate", note.id, 1)]
    return main, pn


def build(lg: Ledger, clients: int, batch: int) -> float:
    """Write ``clients`` histories, ``batch`` clients per transaction per store."""
    started = time.perf_counter()
    lg.staff.add("admin", "Admin", "admin", by=None, at=T0)
    lg.staff.add("comp", "Compliance", "compliance", by="admin", at=T0)
    with acting_as(Actor(id="dr-lee", role="clinician")):
        for first in range(0, clients, batch):
            main: list[Aggregate] = []
            pn: list[Aggregate] = []
            for i in range(first, min(first + batch, clients)):
                m, p = client_history(lg, i, T0 + timedelta(seconds=i))
                main += m
                pn += p
            lg.main.save(*main)
            lg.pn.save(*pn)
            print(f"  {min(first + batch, clients):,} clients written", end="\r",
                  file=sys.stderr, flush=True)
    with acting_as(Actor(id="comp", role="compliance")):
        held = [lg.client_id(f"B-{i}") for i in range(0, clients, 50)]
        lg.main.save(Hold.place(matter="Bench v. Clinic", client_ids=held, reason="bench",
                                at=T0 + timedelta(days=1)))
    return time.perf_counter() - started


def events(lg: Ledger) -> int:
    return lg.main.event_log.size() + lg.pn.event_log.size()


def measure(clients: int, args: argparse.Namespace, tmp: str, destroy: bool
            ) -> dict[str, object]:
    settings = settings_module.load_settings(str(Path(tmp) / f"data-{clients}"), environ={})
    initialise(settings, T0)
    lg = open_ledger(settings)
    try:
        build_s = build(lg, clients, args.batch)
        started = time.perf_counter()
        for store in (lg.main, lg.pn):
            store.retention_projection.catch_up(batch=5000)
        catch_up_s = time.perf_counter() - started
        lg.close()
        plans = []
        for _ in range(args.rounds):  # each in a ledger opened afresh, as the CLI opens it
            lg = open_ledger(settings)
            started = time.perf_counter()
            plan = lg.retention.plan(by="comp", at=PLAN_AT)
            plans.append(time.perf_counter() - started)
            lg.close()
        lg = open_ledger(settings)
        statuses = {s: sum(p.status == s for p in plan) for s in ("due", "held")}
        result: dict[str, object] = {
            "clients": clients, "events": events(lg), "build_s": round(build_s, 1),
            "catch_up_s": round(catch_up_s, 2), "plan_s": statistics.median(plans),
            "plan_rounds": plans, **statuses}
        print(f"{clients:>6,} clients, {events(lg):>9,} events: built in {build_s:6.1f} s, "
              f"first catch-up {catch_up_s:6.1f} s, plan {statistics.median(plans):6.2f} s "
              f"(median of {args.rounds}; {statuses['due']:,} due, {statuses['held']:,} held)",
              flush=True)
        if destroy:
            started = time.perf_counter()
            done = lg.retention.run(by="comp", at=PLAN_AT)
            run_s = time.perf_counter() - started
            result |= {"run_s": round(run_s, 1), "destroyed": len(done)}
            print(f"retention run: {len(done):,} clients destroyed in {run_s:6.1f} s "
                  f"({run_s / max(len(done), 1) * 1000:.0f} ms each)", flush=True)
    finally:
        lg.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000", help="clients, small then large")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=20, help="clients per transaction")
    parser.add_argument("--json", action="store_true", help="also print one JSON line")
    args = parser.parse_args()
    small, large = (int(s) for s in args.sizes.split(","))
    os.environ.pop("LEDGER_KEK", None)
    with tempfile.TemporaryDirectory(prefix="ledger-bench-") as tmp:
        # The run destroys the smaller store's due clients once its plans were timed.
        results = {"small": measure(small, args, tmp, destroy=True),
                   "large": measure(large, args, tmp, destroy=False)}
    ratio = float(results["large"]["plan_s"]) / float(results["small"]["plan_s"])  # type: ignore[arg-type]
    print(f"plan: {ratio:.2f}x the time for {large / small:.0f}x the clients (target <= 12; "
          f"{large:,} clients in {results['large']['plan_s']:.2f} s, target < 10 s)")
    if args.json:
        print(json.dumps(results, sort_keys=True))


if __name__ == "__main__":
    main()
