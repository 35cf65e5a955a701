"""Inclusion and consistency proof time and size at 10^3, 10^5 and 10^6 leaves.

Run from the project root::

    .venv/bin/python benchmarks/proofs.py                 # 1e3, 1e5, 1e6 (a few minutes)
    .venv/bin/python benchmarks/proofs.py --sizes 1000 10000 --rounds 50

A SQLite store's chain table is filled with synthetic leaf hashes (the tree reads only
the leaf column, so no events are needed), the stored tree integrates them, and proofs for
random positions are timed (median of ``--rounds``). Proof size should grow with log2(n)
and time with it, not with n. Every figure is measured by this run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ledger import settings as settings_module
from ledger.bootstrap import initialise, open_ledger
from ledger.primitives import merkle

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def fill(app: object, size: int) -> None:
    chain = app.event_log.chain  # type: ignore[attr-defined]
    engine = app.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        have = conn.execute(chain.select().with_only_columns(chain.c.position).order_by(
            chain.c.position.desc()).limit(1)).scalar() or 0
    rows = [{"position": p, "notification_id": p,
             "leaf": sha256(p.to_bytes(8, "big")).digest(), "chain": b"\x00" * 32}
            for p in range(have + 1, size + 1)]
    with engine.begin() as conn:
        for i in range(0, len(rows), 50_000):
            conn.execute(chain.insert(), rows[i:i + 50_000])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000, 1_000_000])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="ledger-proofs-") as tmp:
        os.environ.pop("LEDGER_KEK", None)
        settings = settings_module.load_settings(str(Path(tmp) / "data"), environ={})
        initialise(settings, T0)
        lg = open_ledger(settings)
        app = lg.main
        try:
            tree = app.tree
            for size in sorted(args.sizes):
                fill(app, size)
                started = time.perf_counter()
                tree.catch_up(batch=50_000)
                integrate_s = time.perf_counter() - started
                root = tree.root(size)
                times, lengths = [], []
                for _ in range(args.rounds):
                    position = random.randint(1, size)
                    started = time.perf_counter()
                    path = tree.inclusion(position, size)
                    times.append(time.perf_counter() - started)
                    lengths.append(len(path))
                    assert merkle.verify_inclusion(tree.leaf(position), position - 1, size,
                                                   path, root)
                old = max(1, size // 3)
                started = time.perf_counter()
                consistency = tree.consistency(old, size)
                consistency_s = time.perf_counter() - started
                results[size] = {"integrate_s": round(integrate_s, 2),
                                 "inclusion_ms": statistics.median(times) * 1000,
                                 "inclusion_hashes": max(lengths),
                                 "consistency_ms": consistency_s * 1000,
                                 "consistency_hashes": len(consistency)}
                r = results[size]
                print(f"{size:>9} leaves: integrated in {integrate_s:6.1f} s; inclusion proof "
                      f"{r['inclusion_ms']:.2f} ms, {r['inclusion_hashes']} hashes "
                      f"(log2 n = {size.bit_length() - 1}); consistency proof "
                      f"{r['consistency_ms']:.2f} ms, {r['consistency_hashes']} hashes",
                      flush=True)
        finally:
            lg.close()
    sizes = sorted(results)
    first, last = results[sizes[0]], results[sizes[-1]]
    print(f"inclusion time {last['inclusion_ms'] / first['inclusion_ms']:.2f}x for "
          f"{sizes[-1] // sizes[0]}x the leaves")
    if args.json:
        print(json.dumps(results, sort_keys=True))


if __name__ == "__main__":
    main()
