"""Load on the HTTP service: concurrent clients of a real ``ledger serve``, next to the
same service calls made in process.

Run from the project root::

    .venv/bin/python benchmarks/api_load.py                            # SQLite, 1 worker
    .venv/bin/python benchmarks/api_load.py --workers 1 2              # one HTTP run each
    .venv/bin/python benchmarks/api_load.py --postgres postgresql://postgres@127.0.0.1/test
    .venv/bin/python benchmarks/api_load.py --requests 600 --seconds 8 # brief (make bench)

Every measurement starts from a fresh data directory (SQLite files, or PostgreSQL with its
own schemas, dropped at the end), set up in local mode as the key holder: an admin, per
load client a clinician and a compliance officer with a staff token each and the
clinician's caseload of clients with a few progress notes, and one more client with a
fixed access history that the searches read. Then ``--clients`` threads (one
``httpx.Client`` each, keep-alive) run a mix of

- ``write``: ``POST /v1/notes`` (a new 1 KB note for a client of the caseload), the
  clinician (a write reads the client, whose history grows by one event per note: the
  caseload keeps that history as short as a practice's);
- ``show``: ``GET /v1/notes/{id}?purpose=TREAT`` (one of the thread's notes), the clinician;
- ``search``: ``POST /v1/access-log/search`` of the fixed-history client, the compliance
  officer (clinicians may not read the access log),

against a ``ledger serve`` subprocess on a free 127.0.0.1 port, until ``--requests`` in all
or ``--seconds``, whichever comes first. The in-process run makes the calls those
endpoints make (``authenticator.authenticate`` with the same header, then the service
under ``acting_for``) with the same threads, mix and bounds, through
``open_ledger(settings)``. Every response's status is checked; anything else is counted and
printed as an error. The server is stopped with SIGTERM at the end, whatever happens.

Targets (issue 13), with 8 concurrent clients: p99 of ``show`` over HTTP under 50 ms, and
HTTP throughput at least half the in-process rate.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import sqlalchemy as sa

from ledger import settings as settings_module
from ledger.bootstrap import Ledger, initialise, open_ledger
from ledger.errors import Refused
from ledger.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
OPS = ("write", "show", "search")
TARGET_SHOW_P99_MS = 50.0
TARGET_RATIO = 0.5
TARGET_CLIENTS = 8  # the targets are stated for this many concurrent clients
START_S = 60  # the server answers within this, or the run fails
STOP_S = 30  # after SIGTERM; then it is killed
REQUEST_TIMEOUT_S = 30.0
AUDITED = "C-AUDIT"  # the client whose access log the searches read
AUDITED_READS, AUDITED_REFUSALS = 20, 5
NOTE_TEXT = ("Client reports improved sleep and fewer intrusive thoughts since the last "
             "session; we reviewed the safety plan and practised grounding. ") * 7  # ~1 KB
EXPECTED = {"write": 201, "show": 200, "search": 200}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def now() -> datetime:
    return datetime.now(UTC)


# ----- the data directory ------------------------------------------------------------------

@dataclass
class Seat:
    """What one load client works with: its staff, their tokens, its client and notes."""

    clinician: str
    compliance: str
    clinician_auth: str  # the Authorization header's value
    compliance_auth: str
    clients: list[str]  # the clinician's caseload
    notes: list[str]


@dataclass
class Backend:
    url: str | None  # PostgreSQL; None: SQLite files in the data directory
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    schemas: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return "SQLite" if self.url is None else "PostgreSQL"

    def settings(self, data_dir: Path) -> Settings:
        if self.url is None:
            return settings_module.load_settings(str(data_dir), environ={})
        schema = f"bench_api_{self.run_id}_{len(self.schemas) // 2}"
        self.schemas += [schema, f"{schema}_pn"]
        return settings_module.load_settings(str(data_dir), environ=self.env(schema))

    def env(self, schema: str) -> dict[str, str]:
        assert self.url is not None
        return {"LEDGER_URL": self.url, "LEDGER_PN_URL": self.url, "LEDGER_SCHEMA": schema,
                "LEDGER_PN_SCHEMA": f"{schema}_pn"}

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


def postgres_url(url: str) -> str:
    parsed = sa.make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def postgres_problem(url: str) -> str | None:
    engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except Exception as e:  # any reason is reported
        return f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e) else ''}"
    finally:
        engine.dispose()
    return None


def prepare(settings: Settings, clients: int, notes: int, caseload: int) -> list[Seat]:
    """A fresh ledger: staff, clients, notes and tokens, made as the key holder."""
    at = now()
    initialise(settings, at)
    with open_ledger(settings) as lg:
        lg.staff.add("admin", "Admin", "admin", by=None, at=at)
        lg.staff.add("desk", "Front Desk", "front-desk", by="admin", at=at)
        lg.staff.add("dr-audit", "Dr Audit", "clinician", by="admin", at=at)
        lg.clients.register(AUDITED, "Audited Client", date(1980, 1, 1), "CA", by="desk",
                            at=at)
        note = lg.notes.write(AUDITED, NOTE_TEXT, by="dr-audit", session_date=None, at=at)
        for _ in range(AUDITED_READS):
            lg.notes.read(note, by="dr-audit", purpose="TREAT", at=at)
        for _ in range(AUDITED_REFUSALS):
            with suppress(Refused):
                lg.notes.read(note, by="desk", purpose="TREAT", at=at)
        seats = []
        for i in range(clients):
            doctor, officer = f"dr-{i:02d}", f"comp-{i:02d}"
            lg.staff.add(doctor, f"Dr {i}", "clinician", by="admin", at=at)
            lg.staff.add(officer, f"Officer {i}", "compliance", by="admin", at=at)
            refs = [f"C-{i:02d}-{k:03d}" for k in range(caseload)]
            for k, ref in enumerate(refs):
                lg.clients.register(ref, f"Client {i}.{k}", date(1970 + k % 40, 1, 1), "CA",
                                    by="desk", at=at)
            ids = [str(lg.notes.write(refs[n % caseload], NOTE_TEXT, by=doctor,
                                      session_date=None, at=at)) for n in range(notes)]
            seats.append(Seat(doctor, officer, bearer(lg, doctor, at), bearer(lg, officer, at),
                              refs, ids))
    return seats


def bearer(lg: Ledger, staff_id: str, at: datetime) -> str:
    return f"Bearer {lg.tokens.issue(staff_id, by='admin', at=at, label='api_load').token}"


# ----- the two ways of calling -------------------------------------------------------------

class Failed(Exception):
    """A call that did not answer as it should (counted as an error, not timed)."""


Call = Callable[[str, Seat, random.Random], None]


def in_process_call(lg: Ledger) -> Call:
    """The calls the endpoints make: authenticate the header, then the service, acting for
    the principal (``api/caller.py``, ``api/routes/notes.py``, ``api/routes/audit.py``)."""
    from ledger.queries import Query  # noqa: PLC0415
    from ledger.services.authentication import acting_for  # noqa: PLC0415

    def call(op: str, seat: Seat, rng: random.Random) -> None:
        at = now()
        header = seat.compliance_auth if op == "search" else seat.clinician_auth
        principal = lg.authenticator.authenticate(header, source="127.0.0.1", at=at)
        with acting_for(principal):
            if op == "write":
                seat.notes.append(str(lg.notes.write(rng.choice(seat.clients), NOTE_TEXT,
                                                     by=principal.staff_id, session_date=None,
                                                     at=at)))
            elif op == "show":
                content = lg.notes.read(uuid.UUID(rng.choice(seat.notes)),
                                        by=principal.staff_id, purpose="TREAT", at=at)
                if content.text != NOTE_TEXT:
                    raise Failed("show: wrong text")
            else:
                query = Query(client_id=lg.client_id(AUDITED), staff_id=None, since=None,
                              until=None, outcome=None, break_glass=False, sort="at")
                records = lg.audit.access_log(by=principal.staff_id, at=at, query=query,
                                              from_log=False, stores=("main", "pn"))
                if len(records) < AUDITED_READS:
                    raise Failed("search: too few records")
    return call


def http_call(clients: dict[int, httpx.Client]) -> Call:
    """The same over HTTP; ``clients`` maps the calling thread to its own keep-alive
    client."""
    def call(op: str, seat: Seat, rng: random.Random) -> None:
        client = clients[threading.get_ident()]
        if op == "write":
            r = client.post("/v1/notes", headers={"Authorization": seat.clinician_auth},
                            json={"client": rng.choice(seat.clients), "text": NOTE_TEXT})
        elif op == "show":
            r = client.get(f"/v1/notes/{rng.choice(seat.notes)}", params={"purpose": "TREAT"},
                           headers={"Authorization": seat.clinician_auth})
        else:
            r = client.post("/v1/access-log/search",
                            headers={"Authorization": seat.compliance_auth},
                            json={"client": AUDITED})
        if r.status_code != EXPECTED[op]:
            kind = r.json().get("type", "") if r.headers.get("content-type", "").endswith(
                "json") and r.status_code >= 400 else ""
            raise Failed(f"{op}: {r.status_code} {kind}".strip())
        if op == "write":
            seat.notes.append(r.json()["note"])
        elif op == "show" and r.json()["text"] != NOTE_TEXT:
            raise Failed("show: wrong text")
        elif op == "search" and len(r.json()) < AUDITED_READS:
            raise Failed("search: too few records")
    return call


# ----- the load ----------------------------------------------------------------------------

@dataclass
class Run:
    wall_s: float
    latencies: dict[str, list[float]]  # seconds, per op
    errors: dict[str, int]
    cpu_s: float  # this process
    server_cpu_s: float | None = None

    @property
    def done(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    @property
    def rate(self) -> float:
        return self.done / self.wall_s


def drive(call: Call, seats: Sequence[Seat], mix: dict[str, int], total: int, seconds: float,
          *, per_thread: Callable[[], object] | None = None,
          thread_done: Callable[[], None] | None = None,
          server_cpu: Callable[[], float] | None = None) -> Run:
    """One thread per seat; each first makes one call of each kind (warm-up, not timed),
    then all start together and take requests from the shared budget until it is spent
    or ``seconds`` have passed."""
    lock = threading.Lock()
    budget = [total]
    latencies: dict[str, list[float]] = {op: [] for op in OPS}
    errors: dict[str, int] = {}
    start = threading.Barrier(len(seats) + 1)
    deadline = [0.0]
    ops, weights = zip(*((op, w) for op, w in mix.items() if w > 0), strict=True)

    def failed(what: str) -> None:
        with lock:
            errors[what] = errors.get(what, 0) + 1

    def work(index: int, seat: Seat) -> None:
        rng = random.Random(index)
        try:
            if per_thread is not None:
                per_thread()
            for op in ops:
                try:
                    call(op, seat, rng)
                except Exception as e:
                    failed(f"warm-up {describe(e)}")
            start.wait()
            mine: dict[str, list[float]] = {op: [] for op in OPS}
            while time.perf_counter() < deadline[0]:
                with lock:
                    if budget[0] <= 0:
                        break
                    budget[0] -= 1
                op = rng.choices(ops, weights)[0]
                began = time.perf_counter()
                try:
                    call(op, seat, rng)
                except Exception as e:
                    failed(describe(e))
                    continue
                mine[op].append(time.perf_counter() - began)
            with lock:
                for op in OPS:
                    latencies[op] += mine[op]
        except threading.BrokenBarrierError:
            pass
        finally:
            if thread_done is not None:
                thread_done()

    threads = [threading.Thread(target=work, args=(i, s), daemon=True)
               for i, s in enumerate(seats)]
    for t in threads:
        t.start()
    deadline[0] = time.perf_counter() + seconds + START_S  # until the barrier is passed
    start.wait(timeout=START_S)
    cpu, server = time.process_time(), server_cpu() if server_cpu else 0.0
    began = time.perf_counter()
    deadline[0] = began + seconds
    for t in threads:
        t.join(seconds + REQUEST_TIMEOUT_S + 5)
    wall = time.perf_counter() - began
    return Run(wall, latencies, errors, time.process_time() - cpu,
               server_cpu() - server if server_cpu else None)


def describe(e: Exception) -> str:
    if isinstance(e, Failed):
        return str(e)
    return f"{type(e).__name__}: {str(e).splitlines()[0][:120] if str(e) else ''}"


def in_process(settings: Settings, seats: list[Seat], mix: dict[str, int], total: int,
               seconds: float) -> Run:
    with open_ledger(settings) as lg:
        lg.pn  # noqa: B018 (as the server does before its first request)
        return drive(in_process_call(lg), seats, mix, total, seconds)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env["LEDGER_URL"], env["LEDGER_PN_URL"] = settings.main.url, settings.pn.url
    for var, schema in (("LEDGER_SCHEMA", settings.main.schema),
                        ("LEDGER_PN_SCHEMA", settings.pn.schema)):
        if schema:
            env[var] = schema
    return env


@contextmanager
def served(settings: Settings, workers: int, log_file: Path) -> Iterator[tuple[str, int]]:
    """A ``ledger serve`` process on a free port: its base URL and pid. Stopped with
    SIGTERM when the block ends, however it ends (killed if it has not stopped in
    STOP_S)."""
    port = free_port()
    with log_file.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli", "--data-dir", str(settings.data_dir), "serve",
             "--port", str(port), "--workers", str(workers)],
            stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=server_env(settings))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_S
        with httpx.Client(base_url=base, timeout=5.0) as probe:
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"ledger serve exited with {proc.returncode}:\n"
                                       + log_file.read_text(errors="replace")[-2000:])
                try:  # unauthenticated and recording nothing, unlike a 401
                    if probe.get("/openapi.json").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"ledger serve did not answer within {START_S} s")
                time.sleep(0.2)
        yield base, proc.pid
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_S)
            except subprocess.TimeoutExpired:
                log(f"  ledger serve did not stop within {STOP_S} s of SIGTERM; killed")
                proc.kill()
                proc.wait(timeout=STOP_S)


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of a process and its live descendants, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError, IndexError):
            continue
    return total


def over_http(settings: Settings, seats: list[Seat], mix: dict[str, int], total: int,
              seconds: float, workers: int, log_file: Path) -> Run:
    with served(settings, workers, log_file) as (base, pid):
        clients: dict[int, httpx.Client] = {}
        lock = threading.Lock()

        def open_client() -> None:
            with lock:
                clients[threading.get_ident()] = httpx.Client(
                    base_url=base, timeout=REQUEST_TIMEOUT_S)

        def close_client() -> None:
            with lock:
                client = clients.pop(threading.get_ident(), None)
            if client is not None:
                client.close()

        return drive(http_call(clients), seats, mix, total, seconds, per_thread=open_client,
                     thread_done=close_client, server_cpu=lambda: tree_cpu_s(pid))


# ----- the figures -------------------------------------------------------------------------

def percentile(values: Sequence[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p% of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def summary(run: Run) -> dict[str, Any]:
    out: dict[str, Any] = {"requests": run.done, "wall_s": round(run.wall_s, 3),
                           "req_per_s": round(run.rate, 1), "errors": run.errors,
                           "cpu_ms_per_request": round(run.cpu_s * 1000 / max(run.done, 1), 2)}
    if run.server_cpu_s is not None:
        out["server_cpu_ms_per_request"] = round(run.server_cpu_s * 1000 / max(run.done, 1), 2)
    every = [x for op in OPS for x in run.latencies[op]]
    for name, values in (*((op, run.latencies[op]) for op in OPS), ("all", every)):
        if values:
            out[name] = {"n": len(values), **{f"p{p}_ms": round(percentile(values, p) * 1000, 2)
                                              for p in (50, 95, 99)},
                         "mean_ms": round(statistics.fmean(values) * 1000, 2)}
    return out


def cells(figures: dict[str, Any]) -> str:
    parts = [f"{figures['req_per_s']:8.1f}"]
    for name in (*OPS, "all"):
        f = figures.get(name)
        parts.append(f"{f['p50_ms']:6.1f} {f['p95_ms']:6.1f} {f['p99_ms']:6.1f}" if f else
                     f"{'-':>6} {'-':>6} {'-':>6}")
    return "  ".join(parts)


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def code_state() -> str:
    """The commit the code is at, and whether ledger/, api/ or cli/ have uncommitted
    changes."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, check=True,
                                capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "ledger", "api", "cli"],
                               cwd=ROOT, check=True, capture_output=True, text=True
                               ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return commit + (" + uncommitted changes" if dirty else "")


def parse_mix(text: str) -> dict[str, int]:
    parts = text.split("/")
    if len(parts) != len(OPS) or not all(p.isdigit() for p in parts) or \
            sum(int(p) for p in parts) == 0:
        raise argparse.ArgumentTypeError("the mix is three whole weights, write/show/search, "
                                         "e.g. 20/70/10")
    return dict(zip(OPS, (int(p) for p in parts), strict=True))


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    p.add_argument("--workers", type=int, nargs="+", default=[1],
                   help="server processes (ledger serve --workers); several values: one "
                        "HTTP run each (default 1)")
    p.add_argument("--requests", type=int, default=4000,
                   help="requests per run, all clients together (default 4000)")
    p.add_argument("--seconds", type=float, default=30.0,
                   help="a run stops after this long even if requests are left (default 30)")
    p.add_argument("--mix", type=parse_mix, default="20/70/10",
                   help="weights of write/show/search (default 20/70/10)")
    p.add_argument("--caseload", type=int, default=10,
                   help="clients of each load client's clinician; writes are spread over "
                        "them (default 10)")
    p.add_argument("--notes", type=int, default=10,
                   help="progress notes per load client before the run (default 10)")
    p.add_argument("--postgres", metavar="URL",
                   help="run on PostgreSQL at URL (own schemas, dropped at the end) instead "
                        "of SQLite")
    p.add_argument("--json", action="store_true", help="also print one JSON line at the end")
    args = p.parse_args(argv)
    if min(args.clients, args.requests, args.notes, args.caseload, *args.workers) < 1 or \
            args.seconds <= 0:
        p.error("--clients, --requests, --seconds, --caseload, --notes and --workers must be "
                "positive")
    return args


def stopped(signum: int, _frame: object) -> None:
    """SIGTERM or SIGHUP to the benchmark: unwind, so that the server is stopped too."""
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stopped)
    for var in ("LEDGER_KEK", "LEDGER_PN_KEK", "LEDGER_CONFIG"):
        os.environ.pop(var, None)
    backend = Backend(postgres_url(args.postgres) if args.postgres else None)
    if backend.url is not None and (problem := postgres_problem(backend.url)):
        print(f"PostgreSQL at {sa.make_url(backend.url).render_as_string()} does not answer: "
              f"{problem}", file=sys.stderr)
        return 2
    mix = "/".join(str(args.mix[op]) for op in OPS)
    where = ("SQLite files (WAL, synchronous=FULL)" if backend.url is None else
             f"PostgreSQL {sa.make_url(backend.url).render_as_string()} (own schemas)")
    print(f"API load: {where}; ledger code at {code_state()}; {os.cpu_count()} CPUs; load "
          f"average {loadavg()} at the start.\n{args.clients} clients, mix write/show/search "
          f"{mix}, at most {args.requests} requests or {args.seconds:g} s per run; latencies "
          "in ms.", flush=True)
    out: dict[str, Any] = {"backend": backend.name, "clients": args.clients, "mix": args.mix,
                           "requests": args.requests, "seconds": args.seconds,
                           "cpus": os.cpu_count(), "code": code_state(), "runs": {}}
    header = (f"{'':<22}{'req/s':>8}  " + "  ".join(f"{op + ' p50/p95/p99':^20}"
                                                    for op in (*OPS, "all")))
    with tempfile.TemporaryDirectory(prefix="ledger-api-load-") as tmp:
        try:
            runs: list[tuple[str, int | None]] = [("in process", None)]
            runs += [(f"HTTP, {w} worker{'s' if w > 1 else ''}", w) for w in args.workers]
            for n, (name, workers) in enumerate(runs):
                settings = backend.settings(Path(tmp) / f"data-{n}")
                log(f"[{name}] setting up a fresh ledger ...")
                seats = prepare(settings, args.clients, args.notes, args.caseload)
                log(f"[{name}] running (load average {loadavg()}) ...")
                if workers is None:
                    run = in_process(settings, seats, args.mix, args.requests, args.seconds)
                else:
                    run = over_http(settings, seats, args.mix, args.requests, args.seconds,
                                    workers, Path(tmp) / f"server-{n}.log")
                figures = summary(run)
                figures["load_average_after"] = loadavg()
                out["runs"][name] = figures
                log(f"[{name}] {run.done} requests in {run.wall_s:.1f} s, load average "
                    f"{loadavg()}")
        finally:
            backend.drop_all()
    report(out, header)
    if args.json:
        print(json.dumps(out))
    return 0


def report(out: dict[str, Any], header: str) -> None:
    runs = out["runs"]
    print(header)
    for name, figures in runs.items():
        print(f"{name:<22}{cells(figures)}")
    base = runs["in process"]
    print(f"\nCPU per request: in process {base['cpu_ms_per_request']} ms", end="")
    for name, figures in runs.items():
        if "server_cpu_ms_per_request" in figures:
            print(f"; {name}: server {figures['server_cpu_ms_per_request']} ms + clients "
                  f"{figures['cpu_ms_per_request']} ms", end="")
    print()
    for name, figures in runs.items():
        if figures["errors"]:
            print(f"ERRORS in {name}: " + ", ".join(f"{k} x{v}"
                                                  for k, v in sorted(figures["errors"].items())))
    note = "" if out["clients"] == TARGET_CLIENTS else \
        f" (the targets are for {TARGET_CLIENTS} clients; this run has {out['clients']})"
    print(f"\nTargets{note}:")
    for name, figures in runs.items():
        if name == "in process":
            continue
        ratio = figures["req_per_s"] / base["req_per_s"]
        figures["ratio_to_in_process"] = round(ratio, 3)
        show = figures.get("show", {}).get("p99_ms")
        figures["show_p99_verdict"] = verdict(show is not None and show < TARGET_SHOW_P99_MS)
        figures["ratio_verdict"] = verdict(ratio >= TARGET_RATIO)
        print(f"  {name}: note show p99 {show} ms (< {TARGET_SHOW_P99_MS:g} ms) "
              f"{figures['show_p99_verdict']}; throughput {figures['req_per_s']} / "
              f"{base['req_per_s']} req/s in process = {ratio:.2f} (>= {TARGET_RATIO}) "
              f"{figures['ratio_verdict']}")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


if __name__ == "__main__":
    sys.exit(main())
