"""The console's access log: its first page at 10^6 events (target: under 1 s).

Run from the project root::

    .venv/bin/python benchmarks/console_access_log.py                        # 10^6 on SQLite
    .venv/bin/python benchmarks/console_access_log.py --postgres             # 10^6 on PostgreSQL
    .venv/bin/python benchmarks/console_access_log.py --events 20000 --baseline-events 5000

A fresh ledger is filled the way ``integrity_at_scale.py`` fills it (staff, 50 clients and
one call of each kind through the services, then audit entries and disclosures cloned from
those calls, 1,000 per save, 80% main store and 20% psychotherapy-note store, every event
sealed and chained), to ``--events`` events; the access read models catch up (timed, not
part of a page). Then ``AuditLog.access_page`` is timed for the first page, newest first,
50 rows: unfiltered, filtered by a staff member and by a client (``--rounds`` times each,
the median). The baseline, in the same process on a second ledger of ``--baseline-events``
events, is what a page cost before pages existed: ``access_log`` (every matching event
decoded and sorted in Python), then the first 50 taken; it is timed beside ``access_page``
at that size. Then the console's access-log page is rendered through the app (in process,
starlette's TestClient), signed in with a staff token through the console's sign-in form:
as opened, and posted with a staff member and with a client. Every figure is measured by
this run.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from integrity_at_scale import PN_SHARE, Clock, Filler, fill, log, setup  # benchmarks/
from scratch import scratch  # benchmarks/ (run as a script: its folder is on the path)

from api.app import create_app
from ledger.bootstrap import Ledger, initialise, open_ledger
from ledger.queries import Query
from ledger.settings import Settings, load_settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's notice about httpx2
    from fastapi.testclient import TestClient

TARGET = 1.0  # seconds for the first page at 10^6 events
PER_PAGE = 50


def median_time(rounds: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


@contextmanager
def filled(tmp: Path, events: int, postgres: bool
           ) -> Iterator[tuple[Ledger, Clock, Settings]]:
    """A ledger of ``events`` events with its access read models caught up."""
    base = load_settings(str(tmp / f"data-{events}"), environ={})
    with scratch(base, postgres) as settings:
        clock = Clock()
        initialise(settings, clock.now)
        lg = open_ledger(settings)
        try:
            log(f"  filling to {events:,} events ...")
            started = time.perf_counter()
            setup(lg, clock)
            pn_to = int(events * PN_SHARE)
            fill(lg, Filler(lg, clock), events - pn_to, pn_to)
            log(f"  filled in {time.perf_counter() - started:.1f} s")
            started = time.perf_counter()
            for store in (lg.main, lg.pn):
                store.access_projection.catch_up(batch=5000)
            log(f"  read models caught up in {time.perf_counter() - started:.1f} s")
            yield lg, clock, settings
        finally:
            lg.close()


def first_pages(lg: Ledger, at: datetime, rounds: int) -> dict[str, float]:
    """The first page, newest first: unfiltered, by a staff member, by a client."""
    queries = {"unfiltered": Query(), "by staff (dr-03)": Query(staff_id="dr-03"),
               "by client (C-0007)": Query(client_id=lg.client_id("C-0007"))}
    out: dict[str, float] = {}
    for label, query in queries.items():
        page = lg.audit.access_page(by="comp", at=at, query=query, per_page=PER_PAGE)
        assert len(page.records) == PER_PAGE and not page.disagreeing, (label, page.total)
        out[label] = median_time(rounds, lambda q=query: lg.audit.access_page(  # type: ignore[misc]
            by="comp", at=at, query=q, per_page=PER_PAGE))
        log(f"    access_page first page {label}: {out[label]:.3f} s "
            f"({page.total:,} matching rows)")
    return out


def baseline(lg: Ledger, at: datetime, rounds: int) -> dict[str, float]:
    """The old way (decode every matching event, sort, slice) beside a page, same ledger."""
    def old() -> object:
        return lg.audit.access_log(by="comp", at=at)[::-1][:PER_PAGE]

    def new() -> object:
        return lg.audit.access_page(by="comp", at=at, per_page=PER_PAGE).records

    slow, fast = median_time(rounds, old), median_time(rounds, new)
    log(f"    access_log then slice: {slow:.3f} s; access_page: {fast:.3f} s")
    return {"access_log then slice": slow, "access_page": fast}


def console_pages(settings: Settings, lg: Ledger, rounds: int) -> dict[str, float]:
    """The console's access-log first page through the app (starlette's TestClient, in
    process), signed in with a staff token through the sign-in form: the page as opened,
    and the form posted with a staff member and with a client."""
    token = lg.tokens.issue("comp", by="admin", at=datetime.now(UTC)).token
    out: dict[str, float] = {}
    with TestClient(create_app(settings)) as client:
        form = client.get("/console/sign-in")
        signed = client.post("/console/sign-in", follow_redirects=False,
                             data={"token": token, "csrf": csrf_of(form.text)})
        assert signed.status_code == 303, signed.text
        csrf = csrf_of(client.get("/console/").text)
        requests: dict[str, Callable[[], Any]] = {
            "GET /console/access-log": lambda: client.get("/console/access-log"),
            "POST, by staff (dr-03)": lambda: client.post(
                "/console/access-log", data={"csrf": csrf, "staff": "dr-03"}),
            "POST, by client (C-0007)": lambda: client.post(
                "/console/access-log", data={"csrf": csrf, "client": "C-0007"}),
        }
        for label, request in requests.items():
            answer = request()
            assert answer.status_code == 200 and answer.text.count("<tr class=") == PER_PAGE
            out[label] = median_time(rounds, request)
            log(f"    console {label}: {out[label]:.3f} s")
    return out


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, "no anti-forgery token on the page"
    return found.group(1)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--baseline-events", type=int, default=100_000,
                   help="0: no baseline")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--postgres", action="store_true", help="both stores on PostgreSQL")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    if args.events < 2000 or 0 < args.baseline_events < 2000 or args.rounds < 1:
        p.error("--events must be at least 2000, --baseline-events 0 (none) or at least "
                "2000, --rounds at least 1")
    backend = "PostgreSQL" if args.postgres else "SQLite"
    result: dict[str, Any] = {"backend": backend, "events": args.events,
                              "baseline_events": args.baseline_events}
    with tempfile.TemporaryDirectory(prefix="console-bench-") as tmp:
        log(f"{backend}, {args.events:,} events:")
        with filled(Path(tmp), args.events, args.postgres) as (lg, clock, settings):
            at = clock.now + timedelta(days=1)
            result["first_page"] = first_pages(lg, at, args.rounds)
            result["console"] = console_pages(settings, lg, args.rounds)
        if not args.baseline_events:
            report(result)
            return 0
        log(f"{backend}, {args.baseline_events:,} events (baseline):")
        with filled(Path(tmp), args.baseline_events, args.postgres) as (lg, clock, _):
            result["baseline"] = baseline(lg, clock.now + timedelta(days=1), args.rounds)
    report(result)
    if args.json:
        print(json.dumps(result))
    return 0


def report(result: dict[str, Any]) -> None:
    n, b = result["events"], result["baseline_events"]
    print(f"{result['backend']}: first page of {PER_PAGE}, newest first, median seconds")
    for label, seconds in [*result["first_page"].items(), *result["console"].items()]:
        verdict = ("OK" if seconds < TARGET else "MISSED") if n >= 1_000_000 else "-"
        print(f"  {n:,} events, {label:28} {seconds:8.3f} s   "
              f"target < {TARGET:.0f} s at 10^6: {verdict}")
    if "baseline" not in result:
        return
    base = result["baseline"]
    print(f"  at {b:,} events: access_log then slice {base['access_log then slice']:.3f} s, "
          f"access_page {base['access_page']:.3f} s "
          f"({base['access_log then slice'] / base['access_page']:.0f}x)")
    unfiltered = result["first_page"]["unfiltered"]
    print(f"  access_page at {n:,} / access_page at {b:,}: "
          f"{unfiltered / base['access_page']:.2f}x")


if __name__ == "__main__":
    sys.exit(main())
