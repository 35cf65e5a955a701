"""Key rotation time: ``ledger keys rotate`` over 10^4 and 10^5 data keys, SQLite and
PostgreSQL, with the file provider (and, if SoftHSM2 is installed, a PKCS#11 token).

Run from the project root::

    .venv/bin/python benchmarks/key_rotation.py                         # 1e4, 1e5; both backends
    .venv/bin/python benchmarks/key_rotation.py --sizes 10000 --skip-postgres --skip-token

Each size gets a fresh store (a new SQLite directory, or a new PostgreSQL schema) holding
that many live data keys wrapped under version 1, written in bulk (one transaction) before
the clock starts. Then the service's rotation runs (``ledger.keys.rotate``, as the command
and the scheduled job run it) with the default batch of 1,000 keys per committed
transaction, and is timed: every key is read, unwrapped under version 1 and wrapped under
version 2, and its row updated. Figures: wall seconds, keys per second, and CPU seconds of
this process (the rest is the database's). The keys table is checked afterwards: every live
key under version 2, or the benchmark fails.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from scratch import scratch  # benchmarks/ (run as a script: its folder is on the path)

from ledger.bootstrap import initialise, open_ledger
from ledger.primitives.crypto import new_key
from ledger.settings import KekSettings, Pkcs11Settings, Settings, load_settings

SOFTHSM = Path("/usr/lib/softhsm/libsofthsm2.so")
AT = datetime(2026, 1, 1, tzinfo=UTC)
INSERT_CHUNK = 5000


def store(backend: str, root: Path, kek: KekSettings) -> AbstractContextManager[Settings]:
    return scratch(replace(load_settings(str(root / "data"), environ={}), kek=kek),
                   backend != "sqlite")


def fill(settings: Settings, keys: int) -> None:
    """``keys`` live data keys under version 1, as ensure_key writes them, in bulk."""
    with open_ledger(settings) as lg:
        ring = lg.main.keyring
        kek = ring.kek(1)
        with lg.main.engine.begin() as conn:
            rows = []
            for i in range(keys):
                key_id = uuid.uuid4()
                rows.append({"key_id": key_id.hex, "subject": f"subject:{uuid.UUID(int=i)}",
                             "kek_version": 1, "wrapped": kek.wrap(new_key(), key_id.bytes),
                             "created_at": AT})
                if len(rows) == INSERT_CHUNK:
                    conn.execute(ring.table.insert(), rows)
                    rows = []
            if rows:
                conn.execute(ring.table.insert(), rows)


def rotate(settings: Settings, keys: int) -> dict[str, float]:
    with open_ledger(settings) as lg:
        wall, cpu = time.perf_counter(), time.process_time()
        result = lg.keys.rotate("main", at=AT)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        in_use = lg.main.keyring.live_keys()
    if in_use != {2: keys + 1} or result.live_keys != keys + 1:  # and the audit key
        raise SystemExit(f"rotation left keys under {in_use}")
    return {"seconds": round(wall, 2), "keys_per_second": round((keys + 1) / wall),
            "cpu_seconds": round(cpu, 2)}


@contextmanager
def token(root: Path) -> Iterator[KekSettings]:
    tokens = root / "tokens"
    tokens.mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    label = f"bench-{uuid.uuid4().hex[:8]}"
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", label, "--so-pin",
                    "0000-0000", "--pin", "1234-5678"], check=True, capture_output=True)
    import pkcs11  # noqa: PLC0415

    pkcs11.lib(str(SOFTHSM)).reinitialize()
    pin = root / "pin"
    pin.write_text("1234-5678")
    pin.chmod(0o600)
    yield KekSettings(provider="pkcs11",
                      pkcs11=Pkcs11Settings(module=SOFTHSM, token=label, pin_file=pin))


def run(backend: str, provider: str, keys: int) -> dict[str, object]:
    root = Path(tempfile.mkdtemp(prefix="ledger-bench-rotation-"))
    try:
        with (token(root) if provider == "pkcs11" else _file()) as kek, \
                store(backend, root, kek) as settings:
            initialise(settings, AT)
            fill(settings, keys)
            figures = rotate(settings, keys)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return {"backend": backend, "provider": provider, "keys": keys, **figures}


@contextmanager
def _file() -> Iterator[KekSettings]:
    yield KekSettings()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-token", action="store_true",
                        help="Leave out the PKCS#11 token (SoftHSM2) runs.")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    backends = ["sqlite"] + ([] if args.skip_postgres else ["postgres"])
    providers = ["file"]
    if not args.skip_token and SOFTHSM.exists():
        providers.append("pkcs11")
    results = []
    print(f"{'backend':9} {'provider':8} {'keys':>7} {'seconds':>8} {'keys/s':>8} {'cpu s':>7}")
    for keys in args.sizes:
        for backend in backends:
            for provider in providers:
                r = run(backend, provider, keys)
                results.append(r)
                print(f"{r['backend']:9} {r['provider']:8} {r['keys']:>7} {r['seconds']:>8} "
                      f"{r['keys_per_second']:>8} {r['cpu_seconds']:>7}", flush=True)
    if args.json:
        json.dump(results, sys.stdout, indent=2)
        print()


if __name__ == "__main__":
    main()
