"""Integrity operations at 10^4, 10^5 and 10^6 events, on SQLite and PostgreSQL.

Run from the project root::

    .venv/bin/python benchmarks/integrity_at_scale.py                  # 1e4, 1e5, 1e6: hours
    .venv/bin/python benchmarks/integrity_at_scale.py --sizes 10000 --skip-postgres   # ~1 min

For each size and backend a fresh ledger is made through ``initialise``/``open_ledger``:
staff, clients and notes are created through the services, and one call of each kind
(reads granted and refused, break-the-glass, disclosures) is made through them in each
store. The log is then filled, 80% main store and 20% psychotherapy store, with audit
entries and disclosures cloned from those calls (``AuditEntry.record`` and
``Disclosure.record`` under ``acting_as``, 1,000 aggregates per ``store.save``), until
both stores together hold the size. Then, timed: the access projections' catch-up, a
plain read of every row (the baseline), ``verify``, a first checkpoint, 1,000 more events,
the next ``checkpoint``, ``investigate``, ``export bundle`` and ``verify-bundle``. An
operation that raises is reported as FAILED with its error; the run goes on. See
benchmarks/README.md. Every figure is measured by this run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eventsourcing.domain import Aggregate
from sqlalchemy import select, type_coerce
from sqlalchemy.types import NullType

from ledger import settings as settings_module
from ledger.aggregates.audit import AuditEntry
from ledger.aggregates.base import Actor, acting_as
from ledger.aggregates.disclosure import Disclosure
from ledger.bootstrap import Ledger, initialise, open_ledger
from ledger.errors import Refused
from ledger.integrity.bundle import verify_bundle
from ledger.keys.signing import key_paths, load_public_key
from ledger.settings import Settings
from ledger.stores.clinical import ACCESS_TOPICS, ClinicalStore

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_URL_ENVS = ("LEDGER_BENCH_POSTGRES_URL", "LEDGER_TEST_POSTGRES_URL")
T0 = datetime(2021, 1, 4, 8, 0, tzinfo=UTC)
STEP = timedelta(seconds=150)  # between events: 10^6 events span about 4.75 years
BATCH = 1000  # aggregates (= events) per store.save while filling
MORE = 1000  # events appended between the first and the timed checkpoint
PN_SHARE = 0.2  # of the events in the psychotherapy-note store
CLINICIANS, CLIENTS, PN_CLIENTS = 10, 50, 20
FULL = 1_000_000
TARGETS = {"verify": 10.0, "checkpoint": 2.0, "investigate": 60.0, "export": 60.0,
           "verify_bundle": 60.0}  # seconds at 10^6 events
# The filler mix per store: template kind -> weight (per 1,000 events).
MIX = {"main": {"read": 870, "list": 40, "refused": 70, "glass": 5, "disclosed": 10,
                "disclose-refused": 5},
       "pn": {"read": 930, "refused": 55, "glass": 5, "disclosed": 5, "disclose-refused": 5}}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ----- the workload ------------------------------------------------------------------------

@dataclass
class Clock:
    """Event times: one STEP per event, so every size is the same practice's pace."""

    now: datetime = T0

    def next(self) -> datetime:
        self.now += STEP
        return self.now

    def later(self, minutes: int = 60) -> datetime:
        self.now += timedelta(minutes=minutes)
        return self.now


def setup(lg: Ledger, clock: Clock) -> None:
    """Staff, clients, notes, and one service call of each kind in each store."""
    lg.staff.add("admin", "Admin", "admin", by=None, at=clock.next())
    doctors = [f"dr-{i:02d}" for i in range(CLINICIANS)]
    for staff_id, role in [*((d, "clinician") for d in doctors), ("sup", "supervisor"),
                           ("bill", "billing"), ("desk", "front-desk"), ("comp", "compliance")]:
        lg.staff.add(staff_id, staff_id, role, by="admin", at=clock.next())
    for k in range(CLIENTS):
        ref, doctor = f"C-{k:04d}", doctors[k % CLINICIANS]
        lg.clients.register(ref, f"Client {k}", date(1980 + k % 30, 1, 1), "CA", by="desk",
                            at=clock.next())
        note = lg.notes.write(ref, "Session note.", by=doctor, session_date=None,
                              at=clock.next())
        lg.notes.read(note, by=doctor, purpose="TREAT", at=clock.next())
        lg.notes.list_notes(ref, by=doctor, at=clock.next())
        attempt(lg.notes.read, note, by="desk", purpose="TREAT", at=clock.next())
        if k % 10 == 0:
            lg.notes.read(note, by="desk", purpose="ETREAT", at=clock.next(),
                          break_glass_reason="client in crisis at the front desk")
            lg.notes.disclose(ref, [note], by="comp", recipient="County Coroner",
                              recipient_type="coroner", purpose="PUBHLTH",
                              exception="CORONER_512g1",
                              assertion="written request on file", at=clock.next())
            attempt(lg.notes.disclose, ref, [note], by="desk", recipient="A. Lawyer",
                    recipient_type="attorney", purpose="LEGAL", at=clock.next())
        if k < PN_CLIENTS:
            setup_pn(lg, clock, ref, doctor, doctors[(k + 1) % CLINICIANS], k)


def setup_pn(lg: Ledger, clock: Clock, ref: str, doctor: str, other: str, k: int) -> None:
    pn = lg.psychotherapy.write(ref, "Process note.", by=doctor, session_date=None,
                                at=clock.next())
    lg.psychotherapy.read(pn, by=doctor, purpose="TREAT", at=clock.next())
    attempt(lg.psychotherapy.read, pn, by="sup", purpose="TREAT", at=clock.next())
    if k % 5 == 0:
        attempt(lg.psychotherapy.read, pn, by=other, purpose="ETREAT", at=clock.next(),
                break_glass_reason="on call, client at risk")
        attempt(lg.psychotherapy.disclose, ref, [pn], by="comp", recipient="County Coroner",
                recipient_type="coroner", purpose="PUBHLTH", exception="CORONER_512g1",
                assertion="written request on file",
                at=clock.next())
        attempt(lg.psychotherapy.disclose, ref, [pn], by="bill", recipient="Acme Health Plan",
                recipient_type="payer", purpose="HPAYMT", at=clock.next())


def attempt(call: Callable[..., object], *args: Any, **kwargs: Any) -> None:
    """A service call that may be refused (the refusal is recorded, as the service does)."""
    with suppress(Refused):
        call(*args, **kwargs)


def kind_of(event: object) -> str | None:
    if isinstance(event, Disclosure.Recorded):
        return "disclosed" if event.outcome == "granted" else "disclose-refused"
    assert isinstance(event, AuditEntry.Recorded)
    if event.action == "list" and event.object_type == "progress-note":
        return "list"
    if event.action != "access":
        return None
    if event.break_glass:
        return "glass"
    return "read" if event.outcome == "granted" else "refused"


class Filler:
    """Makes the next save's aggregates, cloned from the events the setup calls recorded."""

    def __init__(self, lg: Ledger, clock: Clock, seed: int = 1) -> None:
        self.clock = clock
        self.random = random.Random(seed)
        self.templates: dict[str, dict[str, list[Any]]] = {}
        for name, store in (("main", lg.main), ("pn", lg.pn)):
            found: dict[str, list[Any]] = {}
            for n in store.event_log.scan(ACCESS_TOPICS):
                event = store.event_log.decode(n)
                if (kind := kind_of(event)) in MIX[name]:
                    found.setdefault(kind, []).append(event)
            missing = set(MIX[name]) - set(found)
            if missing:
                log(f"  note: no {name} template for {', '.join(sorted(missing))}; skipped")
            self.templates[name] = found

    def aggregates(self, store: str, n: int) -> list[Aggregate]:
        found = self.templates[store]
        kinds = [k for k in MIX[store] if k in found]
        chosen = self.random.choices(kinds, [MIX[store][k] for k in kinds], k=n)
        return [clone(self.random.choice(found[k]), self.clock.next()) for k in chosen]


def clone(e: Any, at: datetime) -> Aggregate:
    """A new aggregate like the one that recorded ``e``, at ``at``, made as services do."""
    with acting_as(Actor(e.actor_id, e.actor_role)):
        if isinstance(e, Disclosure.Recorded):
            items = [(UUID(i.split("@")[0]), int(i.split("@")[1])) for i in e.items]
            return Disclosure.record(
                outcome=e.outcome, reason=e.reason, client_id=e.client_id,
                object_type=e.object_type, items=items, recipient=e.recipient,
                recipient_address=e.recipient_address, recipient_type=e.recipient_type,
                purpose=e.purpose, basis=e.basis,
                authorization_id=UUID(e.authorization_id) if e.authorization_id else None,
                exception=e.exception, legal_basis=e.legal_basis, description=e.description,
                accountable=e.accountable, at=at)
        return AuditEntry.record(
            action=e.action, outcome=e.outcome, purpose=e.purpose, object_type=e.object_type,
            object_id=UUID(e.object_id) if e.object_id else None, client_id=e.client_id,
            version=e.version, reason=e.reason, break_glass=e.break_glass, at=at)


def fill(lg: Ledger, filler: Filler, main_to: int, pn_to: int) -> int:
    """Save filler until the stores hold ``main_to`` and ``pn_to`` events, interleaved about
    four main saves to one psychotherapy-store save. Returns how many events were saved."""
    have = {"main": lg.main.event_log.size(), "pn": lg.pn.event_log.size()}
    want = {"main": main_to, "pn": pn_to}
    saved, last = 0, time.perf_counter()
    while (left := {k: want[k] - have[k] for k in have}) and max(left.values()) > 0:
        name = "pn" if left["pn"] > 0 and left["pn"] * 4 >= left["main"] else "main"
        n = min(BATCH, left[name])
        lg.store(name).save(*filler.aggregates(name, n))
        have[name] += n
        saved += n
        if time.perf_counter() - last > 30:
            log(f"    {sum(have.values()):,} events ...")
            last = time.perf_counter()
    return saved


# ----- the backends ------------------------------------------------------------------------

@dataclass
class Backend:
    name: str
    url: str | None  # PostgreSQL URL; None: SQLite files in the data directory
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    schemas: list[str] = field(default_factory=list)

    @contextmanager
    def settings(self, data_dir: Path, size: int) -> Iterator[Settings]:
        if self.url is None:
            yield settings_module.load_settings(str(data_dir), environ={})
            return
        schema = f"bench_{self.run_id}_{size}"
        self.schemas += [schema, f"{schema}_pn"]
        env = {"LEDGER_URL": self.url, "LEDGER_PN_URL": self.url, "LEDGER_SCHEMA": schema,
               "LEDGER_PN_SCHEMA": f"{schema}_pn"}
        try:
            yield settings_module.load_settings(str(data_dir), environ=env)
        finally:
            self.drop_all()

    def drop_all(self) -> None:
        if self.url is None or not self.schemas:
            return
        engine = sa.create_engine(self.url)
        try:
            with engine.begin() as conn:
                for schema in self.schemas:
                    conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            self.schemas.clear()
        finally:
            engine.dispose()


def postgres_url() -> str:
    url = next((os.environ[e] for e in PG_URL_ENVS if os.environ.get(e)), DEFAULT_PG_URL)
    parsed = sa.make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def postgres_problem(url: str) -> str | None:
    engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except Exception as e:  # any reason to skip is reported
        return f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e) else ''}"
    finally:
        engine.dispose()
    return None


# ----- the operations ----------------------------------------------------------------------

def timed(result: dict[str, Any], name: str, work: Callable[[], dict[str, Any] | None]
          ) -> None:
    """Run ``work`` and keep its seconds and what it returns (``error`` if it raised or
    ``problem`` if its answer says the ledger is not intact)."""
    log(f"  {name} ...")
    started = time.perf_counter()
    try:
        extra = work() or {}
    except Exception as e:  # the integrity code is being changed: report it
        extra = {"error": f"{type(e).__name__}: {e}".splitlines()[0][:300]}
    entry = {"seconds": time.perf_counter() - started, **extra}
    result[name] = entry
    state = entry.get("error") or entry.get("problem") or ""
    log(f"  {name}: {entry['seconds']:.2f} s {state}")


def plain_read(stores: Sequence[ClinicalStore]) -> dict[str, Any]:
    """Every row and column of the events and chain tables, with SQLAlchemy Core, streamed:
    reading what a verification covers, without hashing."""
    rows = 0
    for store in stores:
        e, c = store.event_log.events.c, store.event_log.chain.c
        queries = [select(e.id, type_coerce(e.originator_id, NullType()), e.originator_version,
                          e.topic, e.state).order_by(e.id),
                   select(c.position, c.notification_id, c.leaf, c.chain).order_by(c.position)]
        with store.engine.connect() as conn:
            for query in queries:
                result = conn.execution_options(yield_per=5000).execute(query)
                for part in result.partitions():
                    rows += len(part)
    return {"rows": rows}


def run_size(backend: Backend, size: int, rounds: int, tmp: Path) -> dict[str, Any]:
    result: dict[str, Any] = {}
    data = tmp / f"{backend.name}-{size}"
    with backend.settings(data / "data", size) as settings:
        clock = Clock()
        initialise(settings, clock.now)
        lg = open_ledger(settings)
        try:
            measure(lg, settings, clock, size, rounds, data, result)
        finally:
            lg.close()
    shutil.rmtree(data, ignore_errors=True)
    return result


def measure(lg: Ledger, settings: Settings, clock: Clock, size: int, rounds: int,
            data: Path, result: dict[str, Any]) -> None:
    stores = (lg.main, lg.pn)
    started = time.perf_counter()
    setup(lg, clock)
    setup_s = time.perf_counter() - started
    filler = Filler(lg, clock)
    pn_to = round(size * PN_SHARE)
    log(f"  seeding {size:,} events ...")
    started = time.perf_counter()
    saved = fill(lg, filler, size - pn_to, pn_to)
    result["seed"] = {"seconds": time.perf_counter() - started, "events": saved,
                      "setup_seconds": setup_s,
                      "setup_events": size - saved}
    result["events"] = {"main": lg.main.event_log.size(), "pn": lg.pn.event_log.size()}
    models = (lg.main.access_projection, lg.pn.access_projection, lg.main.record_set_projection)
    timed(result, "catch_up", lambda: {"events": sum(m.catch_up() for m in models)})
    plain_read(stores)  # warm-up, untimed
    for r in range(rounds):
        timed(result, f"plain_read_{r}", lambda: plain_read(stores))
        timed(result, f"verify_{r}", lambda: verified(lg.integrity.verify(at=clock.later())))
    for kind in ("plain_read", "verify"):
        runs = [result.pop(f"{kind}_{r}") for r in range(rounds)]
        result[kind] = {**runs[-1], "runs": [x["seconds"] for x in runs],
                        "seconds": statistics.median(x["seconds"] for x in runs)}
    timed(result, "first_checkpoint", lambda: checkpointed(lg, clock.later()))
    fill(lg, filler, lg.main.event_log.size() + MORE - round(MORE * PN_SHARE),
         lg.pn.event_log.size() + round(MORE * PN_SHARE))
    timed(result, "checkpoint", lambda: checkpointed(lg, clock.later()))
    timed(result, "investigate", lambda: investigated(lg, clock.later()))
    bundle = data / "bundle"
    timed(result, "export", lambda: {"events": sum(
        n for _, n in lg.proofs.export_bundle(bundle))})
    public = load_public_key(key_paths(settings.keys)[1])
    timed(result, "verify_bundle", lambda: bundle_checked(verify_bundle(bundle, public)))


def verified(reports: list[Any]) -> dict[str, Any]:
    bad = [f"{r.store}: {r.damage.describe()}" for r in reports if not r.ok]
    return {"events": sum(r.events for r in reports), **({"problem": "; ".join(bad)}
                                                          if bad else {})}


def checkpointed(lg: Ledger, at: datetime) -> dict[str, Any]:
    written = lg.integrity.checkpoint(at=at)
    return {"sizes": [c.size for c, _ in written], "events": sum(c.size for c, _ in written)}


def investigated(lg: Ledger, at: datetime) -> dict[str, Any]:
    report = lg.investigation.psychotherapy_releases(by="comp", at=at)
    out: dict[str, Any] = {"items": len(report.items), "releases": len(report.releases),
                           "proofs": sum(1 for i in report.items if i.proof is not None),
                           "events": sum(e.size for e in report.evidence)}
    if not report.verified:
        out["problem"] = "; ".join(f"{e.store}: {e.detail}" for e in report.evidence
                                   if not e.ok)
    return out


def bundle_checked(reports: list[Any]) -> dict[str, Any]:
    bad = [f"{r.store}: {r.problems[0]}" for r in reports if not r.ok]
    return {"events": sum(r.events for r in reports), **({"problem": "; ".join(bad)}
                                                          if bad else {})}


# ----- the report --------------------------------------------------------------------------

ROWS = (("seed", "seed (saves of 1,000 events)", True),
        ("catch_up", "projection catch-up (from zero)", True),
        ("plain_read", "plain read of all rows (baseline)", False),
        ("verify", "verify (both stores)", True),
        ("first_checkpoint", "first checkpoint (whole log)", True),
        ("checkpoint", "checkpoint after 1,000 new events", False),
        ("investigate", "investigate (whole log)", True),
        ("export", "export bundle (whole log)", True),
        ("verify_bundle", "verify-bundle", True))


def cell(entry: dict[str, Any] | None, with_rate: bool) -> str:
    if entry is None:
        return "-"
    if "error" in entry:
        return "FAILED"
    text = f"{entry['seconds']:.2f} s"
    if with_rate and entry.get("events") and entry["seconds"] > 0:
        text += f" {entry['events'] / entry['seconds']:>9,.0f}/s"
    return text + (" !" if "problem" in entry else "")


def verdict(op: str, sizes: dict[int, dict[str, Any]]) -> str:
    if op not in TARGETS:
        return ""
    target = TARGETS[op]
    if FULL in sizes:
        entry = sizes[FULL].get(op) or {}
        if "error" in entry or "problem" in entry:
            return f"<= {target:.0f} s: FAILED"
        return f"<= {target:.0f} s: {'OK' if entry['seconds'] <= target else 'MISSED'}"
    largest = max(sizes)
    entry = sizes[largest].get(op) or {}
    if "seconds" not in entry or "error" in entry:
        return f"<= {target:.0f} s: not measured"
    estimate = entry["seconds"] * FULL / largest
    return f"<= {target:.0f} s: not run at 10^6 (linear est. {estimate:,.1f} s)"


def print_backend(title: str, sizes: dict[int, dict[str, Any]]) -> None:
    print(f"\n== {title} ==")
    order = sorted(sizes)
    print(f"{'':38}" + "".join(f"{f'{n:,} events':>26}" for n in order) + "   target at 10^6")
    for op, label, with_rate in ROWS:
        cells = "".join(f"{cell(sizes[n].get(op), with_rate):>26}" for n in order)
        print(f"{label:38}{cells}   {verdict(op, sizes)}")
    ratios = "".join(f"{ratio(sizes[n]):>26}" for n in order)
    print(f"{'verify / plain read':38}{ratios}")
    for n in order:
        notes = [f"{op}: {e.get('error') or e.get('problem')}" for op, e in sizes[n].items()
                 if isinstance(e, dict) and ("error" in e or "problem" in e)]
        inv = sizes[n].get("investigate", {})
        if "items" in inv:
            notes.insert(0, f"investigation listed {inv['items']:,} items ({inv['proofs']:,} "
                            f"with proofs), {inv['releases']:,} releases")
        print(f"  {n:,}: " + ("; ".join(notes) or "ok"))


def ratio(entry: dict[str, Any]) -> str:
    v, p = entry.get("verify", {}), entry.get("plain_read", {})
    if "error" in v or "error" in p or not p.get("seconds"):
        return "-"
    return f"{v['seconds'] / p['seconds']:.1f}x"


def code_state() -> str:
    """The commit the ledger code is at, and whether ledger/ has uncommitted changes."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, check=True,
                                capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "ledger"], cwd=root,
                               check=True, capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return commit + (" + uncommitted changes in ledger/" if dirty else "")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, FULL],
                   help="total events (both stores) per measurement (default 1e4 1e5 1e6)")
    p.add_argument("--rounds", type=int, default=1,
                   help="rounds of plain read + verify; the median is reported (default 1)")
    p.add_argument("--skip-postgres", action="store_true", help="SQLite only")
    p.add_argument("--json", action="store_true", help="also print one JSON line at the end")
    args = p.parse_args(argv)
    if args.rounds < 1 or min(args.sizes) < 2000:
        p.error("--rounds must be at least 1 and every size at least 2000")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    for var in ("LEDGER_KEK", "LEDGER_PN_KEK", "LEDGER_CONFIG"):
        os.environ.pop(var, None)
    backends = [Backend("sqlite", None)]
    out: dict[str, Any] = {"sizes": sorted(args.sizes), "cpus": os.cpu_count(),
                           "code": code_state(), "targets_s_at_1e6": TARGETS}
    print(f"Integrity at scale: ledger code at {out['code']}, {os.cpu_count()} CPUs, Python "
          f"{sys.version.split()[0]}.\nEach size: a fresh ledger, events split "
          f"{1 - PN_SHARE:.0%} main / {PN_SHARE:.0%} psychotherapy store; audit entries and "
          "disclosures cloned from service calls (see the README).")
    if args.skip_postgres:
        out["postgres_skipped"] = "--skip-postgres"
    elif problem := postgres_problem(url := postgres_url()):
        out["postgres_skipped"] = f"unreachable: {problem}"
    else:
        backends.append(Backend("postgres", url))
    with tempfile.TemporaryDirectory(prefix="ledger-scale-") as tmp:
        for backend in backends:
            results: dict[int, dict[str, Any]] = {}
            try:
                for size in sorted(args.sizes):
                    log(f"[{backend.name}] {size:,} events")
                    results[size] = run_size(backend, size, args.rounds, Path(tmp))
            finally:
                backend.drop_all()
            out[backend.name] = {str(k): v for k, v in results.items()}
            title = ("SQLite (files, WAL, synchronous=FULL)" if backend.url is None else
                     f"PostgreSQL ({sa.make_url(backend.url).render_as_string()}, "
                     "fresh schemas, dropped)")
            print_backend(title, results)
    if "postgres_skipped" in out:
        print(f"\n== PostgreSQL skipped: {out['postgres_skipped']} ==")
    out["wall_seconds"] = time.perf_counter() - started
    print(f"\nwall time {out['wall_seconds'] / 60:.1f} min")
    if args.json:
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
