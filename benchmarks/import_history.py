"""Import time: ``ledger import`` of 10,000 clients with 100,000 notes, then a re-import.

Run from the project root::

    .venv/bin/python benchmarks/import_history.py                       # 10,000 / 100,000, SQLite
    .venv/bin/python benchmarks/import_history.py --clients 1000 --notes-per-client 10
    .venv/bin/python benchmarks/import_history.py --postgres --clients 2000

A history file is generated first (not timed): per client an episode of care that ended
and, for one client in three, a second one still open, two contacts, and
``--notes-per-client`` notes (the 4th and 8th of every ten psychotherapy notes, the rest
progress notes), each of about 600 bytes of text, by one of ten clinicians. Then the
import service runs on a fresh data directory (or PostgreSQL schema) as ``ledger import``
runs it, reading the file through the same bounded line reader, with
``--clients-per-commit`` clients per transaction, and is timed: the whole file checked
(format, then the ledger-dependent checks), then every client written. Then the same file
is imported again, which must add nothing, and is timed too. Figures: wall seconds,
clients/s and notes/s, CPU seconds of this process, and its peak resident memory. The
stores are verified afterwards (chains intact, counts right), or the benchmark fails.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
from contextlib import AbstractContextManager
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from scratch import scratch  # benchmarks/ (run as a script: its folder is on the path)

from ledger.bootstrap import initialise, open_ledger
from ledger.rules.import_file import lines_of
from ledger.settings import Settings, load_settings

AT = datetime(2026, 1, 1, tzinfo=UTC)
CLINICIANS = [f"dr-{i}" for i in range(10)]
WORDS = ("mood sleep anxiety plan goals session reports improved affect stable homework "
         "review family work stress coping skills insight progress").split()


def generate(path: Path, clients: int, notes_per_client: int, seed: int = 15) -> int:
    """Write the history file; return how many notes it holds."""
    rng = random.Random(seed)
    notes = 0
    with path.open("w", encoding="utf-8") as f:
        f.write(json.dumps({"type": "ledger-import", "format": 1}) + "\n")
        for c in range(clients):
            ref = f"H-{c:06d}"
            born = date(1940, 1, 1) + timedelta(days=rng.randrange(60 * 365))
            start = date(2010, 1, 1) + timedelta(days=rng.randrange(8 * 365))
            end = start + timedelta(days=rng.randrange(30, 700))
            rows: list[dict[str, object]] = [
                {"type": "client", "client_ref": ref, "name": f"Client {c}",
                 "birth_date": born.isoformat(), "state": rng.choice(["NY", "CA", "TX", "PA"])},
                {"type": "episode", "client_ref": ref, "state": "NY", "license": "lcsw",
                 "start": start.isoformat(), "end": end.isoformat(), "end_kind": "discharge"}]
            if c % 3 == 0:
                rows.append({"type": "episode", "client_ref": ref, "state": "NY",
                             "license": "psychologist", "facility": "mh-facility",
                             "start": (end + timedelta(days=400)).isoformat()})
            rows += [{"type": "contact", "client_ref": ref,
                      "date": (start + timedelta(days=d)).isoformat()} for d in (0, 14)]
            for n in range(notes_per_client):
                session = start + timedelta(days=7 * n)
                rows.append({
                    "type": "psychotherapy-note" if n % 4 == 3 else "progress-note",
                    "client_ref": ref, "source_id": f"ehr:{c}/{n}",
                    "author_id": CLINICIANS[c % len(CLINICIANS)],
                    "session_date": session.isoformat(),
                    "written_on": (session + timedelta(days=rng.randrange(3))).isoformat(),
                    "text": " ".join(rng.choice(WORDS) for _ in range(90))})
                notes += 1
            f.writelines(json.dumps(r) + "\n" for r in rows)
    return notes


def store(postgres: bool, root: Path) -> AbstractContextManager[Settings]:
    return scratch(load_settings(str(root / "data"), environ={}), postgres)


def timed_import(settings: Settings, file: Path, per_commit: int) -> tuple[float, float, object]:
    with open_ledger(settings) as lg, file.open("rb") as stream:
        cpu, wall = time.process_time(), time.perf_counter()
        result = lg.history_import.run(lines_of(stream), by="admin", at=AT,
                                       clients_per_commit=per_commit)
        return time.perf_counter() - wall, time.process_time() - cpu, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--notes-per-client", type=int, default=10)
    parser.add_argument("--clients-per-commit", type=int, default=1)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--json", action="store_true", help="also print one JSON line")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ledger-import-bench-") as tmp:
        root = Path(tmp)
        file = root / "history.jsonl"
        notes = generate(file, args.clients, args.notes_per_client)
        print(f"history file: {args.clients:,} clients, {notes:,} notes, "
              f"{file.stat().st_size / 1e6:.1f} MB", file=sys.stderr)
        with store(args.postgres, root) as settings:
            initialise(settings, AT)
            with open_ledger(settings) as lg:
                lg.staff.add("admin", "Ada", "admin", by=None, at=AT)
                for staff_id in CLINICIANS:
                    lg.staff.add(staff_id, staff_id, "clinician", by="admin", at=AT)
            wall, cpu, first = timed_import(settings, file, args.clients_per_commit)
            wall2, cpu2, again = timed_import(settings, file, args.clients_per_commit)
            with open_ledger(settings) as lg:
                ok = lg.main.verify().ok and lg.pn.verify().ok
                events = (lg.main.event_log.size(), lg.pn.event_log.size())
        added, readded = first.added, again.added  # type: ignore[attr-defined]
        if (added.clients != args.clients
                or added.progress_notes + added.psychotherapy_notes != notes
                or any(asdict(readded).values()) or not ok):
            sys.exit(f"benchmark failed: added {added}, re-import added {readded}, chains ok "
                     f"{ok}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures = {
        "backend": "postgresql" if args.postgres else "sqlite", "clients": args.clients,
        "notes": notes, "clients_per_commit": args.clients_per_commit,
        "events": {"main": events[0], "psychotherapy": events[1]},
        "import": {"seconds": round(wall, 1), "cpu_seconds": round(cpu, 1),
                   "clients_per_s": round(args.clients / wall), "notes_per_s": round(notes / wall)},
        "reimport": {"seconds": round(wall2, 1), "cpu_seconds": round(cpu2, 1),
                     "clients_per_s": round(args.clients / wall2),
                     "notes_per_s": round(notes / wall2)},
        "peak_rss_mb": round(peak_mb)}
    print(f"{figures['backend']}: {args.clients:,} clients, {notes:,} notes "
          f"({args.clients_per_commit} client(s) per commit); events written: main "
          f"{events[0]:,}, psychotherapy {events[1]:,}")
    for label in ("import", "reimport"):
        f = figures[label]
        assert isinstance(f, dict)
        print(f"  {label:9} {f['seconds']:8.1f} s  {f['clients_per_s']:7,} clients/s  "
              f"{f['notes_per_s']:7,} notes/s  (cpu {f['cpu_seconds']} s)")
    print(f"  peak resident memory {figures['peak_rss_mb']} MB")
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
