"""Start-up time of the ``ledger`` command, as ratios to ``python -c "import click"``.

Each command runs as a whole new process, the commands interleaved round by round (so a
slow moment of the machine lands on all of them), and the median wall time of the rounds
is reported, with its ratio to the floor: the interpreter starting and importing click,
which any click program pays. Targets (issue "One shape for the code"): ``ledger --help``
and ``ledger note show --help`` within 2x of the floor; ``ledger staff list`` (a read that
opens the store) under 0.5 s. For context it also times importing the storage libraries
alone (eventsourcing-sqlalchemy, eventsourcing, cryptography, click), which every command
that opens a store pays.

    .venv/bin/python benchmarks/startup.py              # 15 rounds
    .venv/bin/python benchmarks/startup.py --rounds 5 --json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LIBRARIES = ("import eventsourcing_sqlalchemy.factory, eventsourcing.application, "
             "cryptography.hazmat.primitives.ciphers.aead, click")
TARGET_HELP_RATIO = 2.0
TARGET_READ_S = 0.5


def ledger_command() -> list[str]:
    script = Path(sys.executable).parent / "ledger"
    return [str(script)] if script.exists() else [sys.executable, "-m", "cli"]


def run_once(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--json", action="store_true", help="also print one JSON line")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    ledger = ledger_command()
    with tempfile.TemporaryDirectory(prefix="ledger-startup-") as tmp:
        data = str(Path(tmp) / "data")
        subprocess.run([*ledger, "--data-dir", data, "init"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run([*ledger, "--data-dir", data, "staff", "add", "--id", "admin",
                        "--name", "Admin", "--role", "admin"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        commands = {
            "floor: python -c 'import click'": [sys.executable, "-c", "import click"],
            "ledger --help": [*ledger, "--help"],
            "ledger note show --help": [*ledger, "note", "show", "--help"],
            "ledger --version": [*ledger, "--version"],
            "ledger staff list": [*ledger, "--data-dir", data, "staff", "list"],
            "libraries alone (storage, crypto, click)": [sys.executable, "-c", LIBRARIES],
        }
        for argv in commands.values():  # warm the file cache and the bytecode
            run_once(argv, env)
        runs: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.rounds):
            for name, argv in commands.items():
                runs[name].append(run_once(argv, env))
    floor = statistics.median(runs["floor: python -c 'import click'"])
    print(f"start-up, median of {args.rounds} rounds (whole processes, wall time):")
    results = {}
    for name, figures in runs.items():
        median = statistics.median(figures)
        results[name] = {"median_s": round(median, 4), "ratio_to_floor": round(median / floor, 2),
                         "runs_s": [round(f, 4) for f in figures]}
        print(f"  {name:<42} {median * 1000:7.1f} ms  {median / floor:5.2f}x the floor")
    for name in ("ledger --help", "ledger note show --help"):
        ratio = results[name]["ratio_to_floor"]
        verdict = "OK" if ratio <= TARGET_HELP_RATIO else "MISSED"
        print(f"target {name} <= {TARGET_HELP_RATIO}x the floor: {ratio}x {verdict}")
    read = results["ledger staff list"]["median_s"]
    print(f"target ledger staff list < {TARGET_READ_S} s: {read} s "
          f"{'OK' if read < TARGET_READ_S else 'MISSED'} (the libraries alone take "
          f"{results['libraries alone (storage, crypto, click)']['median_s']} s)")
    if args.json:
        print(json.dumps({"rounds": args.rounds, "results": results}))


if __name__ == "__main__":
    main()
