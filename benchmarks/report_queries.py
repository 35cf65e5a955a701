"""One client's accounting and access log at 10,000 and at 1,000,000 stored events.

Run from the project root::

    .venv/bin/python benchmarks/report_queries.py                       # 10k vs 1M (long)
    .venv/bin/python benchmarks/report_queries.py --large 100000        # quicker
    .venv/bin/python benchmarks/report_queries.py --small 2000 --large 20000 --rounds 3

A SQLite data directory is filled through the real application (sealed, chained events):
two measured clients with a fixed history (reads, refusals, disclosures), and filler
audit entries about other clients and staff until the store holds ``--small`` events. The
projections catch up, then each query is timed ``--rounds`` times (median). The store is
filled on to ``--large`` events and the same queries are timed again. The figure that
matters is the ratio large/small: the queries answer from indexes, so it should stay near
1 (target below 2) although the log grew a hundredfold. Every figure is measured here.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ledger import queries as access_log
from ledger import settings as settings_module
from ledger.aggregates.audit import AuditEntry
from ledger.aggregates.base import Actor, acting_as
from ledger.bootstrap import Ledger, initialise, open_ledger
from ledger.errors import Refused

T0 = datetime(2020, 1, 1, tzinfo=UTC)
MEASURED = ("C-1", "C-2")


def count_events(lg: Ledger) -> int:
    return lg.main.event_log.size()


def seed(lg: Ledger) -> None:
    lg.staff.add("admin", "Admin", "admin", by=None, at=T0)
    for staff_id, role in [("dr-lee", "clinician"), ("comp", "compliance"),
                           ("desk", "front-desk"), ("bill", "billing")]:
        lg.staff.add(staff_id, staff_id, role, by="admin", at=T0)
    for ref in MEASURED:
        lg.clients.register(ref, f"Client {ref}", date(1990, 1, 1), "CA", by="desk", at=T0)
        note = lg.notes.write(ref, "note", by="dr-lee", session_date=None, at=T0)
        for i in range(40):
            at = T0 + timedelta(days=i)
            lg.notes.read(note, by="dr-lee", purpose="TREAT", at=at)
            if i % 4 == 0:
                with contextlib.suppress(Refused):
                    lg.notes.read(note, by="desk", purpose="TREAT", at=at)
            if i % 5 == 0:
                lg.notes.disclose(ref, [note], by="comp", recipient=f"Coroner {i % 3}",
                                  recipient_type="coroner", purpose="PUBHLTH",
                                  exception="CORONER_512g1",
                                  assertion="written request on file", at=at)


def fill(lg: Ledger, target: int, batch: int) -> float:
    """Append filler audit entries (other clients, other staff) until ``target`` events."""
    started = time.perf_counter()
    actor = Actor(id="filler", role="clinician")
    at = T0 + timedelta(days=100)
    while (have := count_events(lg)) < target:
        n = min(batch, target - have)
        with acting_as(actor):
            entries = [AuditEntry.record(action="access", outcome="granted",
                                         object_type="progress-note", object_id=uuid.uuid4(),
                                         client_id=uuid.uuid4(), purpose="TREAT", version=1,
                                         at=at) for _ in range(n)]
            lg.main.save(*entries)
        at += timedelta(seconds=1)
    return time.perf_counter() - started


def timed(rounds: int, work: Callable[[], object]) -> list[float]:
    figures = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        figures.append(time.perf_counter() - started)
    return figures


def measure(lg: Ledger, rounds: int, at: datetime) -> dict[str, list[float]]:
    """One client's accounting and access log from the main store, as the services answer
    them (each reading recorded)."""
    query = access_log.Query(client_id=lg.client_id("C-1"))
    return {
        "accounting": timed(rounds, lambda: lg.audit.accounting("C-1", by="comp", at=at,
                                                                stores=("main",))),
        "access_log": timed(rounds, lambda: lg.audit.access_log(by="comp", at=at, query=query,
                                                                stores=("main",))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=2000, help="events per save when filling")
    parser.add_argument("--json", action="store_true", help="also print one JSON line")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ledger-bench-") as tmp:
        os.environ.pop("LEDGER_KEK", None)
        settings = settings_module.load_settings(str(Path(tmp) / "data"), environ={})
        initialise(settings, T0)
        lg = open_ledger(settings)
        try:
            seed(lg)
            results: dict[str, dict[str, object]] = {}
            for size in (args.small, args.large):
                fill_s = fill(lg, size, args.batch)
                started = time.perf_counter()
                lg.main.access_projection.catch_up(batch=5000)
                catch_up_s = time.perf_counter() - started
                at = T0 + timedelta(days=2000)
                figures = measure(lg, args.rounds, at)
                results[str(size)] = {
                    "events": count_events(lg), "fill_s": round(fill_s, 2),
                    "catch_up_s": round(catch_up_s, 2),
                    **{k: statistics.median(v) for k, v in figures.items()},
                    "rounds": figures}
                print(f"{count_events(lg):>9} events: filled in {fill_s:7.1f} s, projection "
                      f"caught up in {catch_up_s:6.1f} s; accounting "
                      f"{statistics.median(figures['accounting']) * 1000:7.2f} ms, access log "
                      f"{statistics.median(figures['access_log']) * 1000:7.2f} ms "
                      f"(median of {args.rounds})", flush=True)
        finally:
            lg.close()
    small, large = results[str(args.small)], results[str(args.large)]
    for name in ("accounting", "access_log"):
        ratio = float(large[name]) / float(small[name])  # type: ignore[arg-type]
        print(f"{name}: {ratio:.2f}x at {args.large:,} vs {args.small:,} events (target < 2)")
    if args.json:
        print(json.dumps(results, sort_keys=True))


if __name__ == "__main__":
    main()
