"""``ledger keys``: rotate, retire and status through click's runner, refusals as one line,
remote mode refused, and real processes: a rotation killed with SIGKILL at random moments
resumes and ends with every live key under the new version, reads working throughout; the
passphrase given on a file descriptor; the key epochs job."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest

from jobs.tasks import key_epochs
from ledger.bootstrap import open_ledger
from ledger.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]


def practice(run) -> None:  # type: ignore[no-untyped-def]
    assert run("init").exit_code == 0
    assert run("staff", "add", "--id", "a", "--name", "A", "--role", "admin").exit_code == 0


def test_status_rotate_retire(run) -> None:  # type: ignore[no-untyped-def]
    practice(run)
    r = run("keys", "status")
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "store\tversion\tprovider\tcreated\trotated\tretired\tlive keys"
    assert lines[1].startswith("main\t1 (current)\tfile\t") and lines[1].endswith("\t-\t1")
    r = run("keys", "rotate", "--store", "main", "--batch-size", "1")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == ("main: rotated to version 2: 1 key(s) re-wrapped now, 1 live key(s) "
                        "under version 2\n")
    r = run("keys", "retire", "2", "--store", "main")
    assert (r.exit_code, r.stderr) == (1, "error: version 2 is the current key-encryption "
                                          "key; rotate first ('ledger keys rotate'), then "
                                          "retire it\n")
    r = run("keys", "retire", "9", "--store", "main")
    assert (r.exit_code, r.stderr) == (1, "error: key-encryption key version 9 does not "
                                          "exist\n")
    r = run("keys", "retire", "1", "--store", "main")
    assert (r.exit_code, r.stdout) == (0, "main: version 1 retired; its key is destroyed\n")
    r = run("keys", "retire", "1", "--store", "main")
    assert r.stdout == "main: version 1 was already retired; its key is destroyed\n"
    status = json.loads(run("keys", "status", "--json").stdout)
    assert [(s["store"], s["version"], s["current"], s["live_keys"], s["retired_at"] is None)
            for s in status] == [("main", 1, False, 0, False), ("main", 2, True, 1, True),
                                 ("pn", 1, True, 1, True)]
    assert run("verify").exit_code == 0
    r = run("keys", "retire", "1")
    assert r.exit_code == 2 and "Missing option '--store'" in r.stderr


def test_keys_run_only_in_local_mode(run) -> None:  # type: ignore[no-untyped-def]
    r = run("--server", "https://ledger.example", "keys", "rotate")
    assert r.exit_code == 2
    assert "ledger keys runs only in local mode" in r.stderr


# ----- real processes --------------------------------------------------------------------


def _env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env["LEDGER_DATA_DIR"] = str(data)
    return env


def _cli(env: dict[str, str], *args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli", *args], text=True,
                          capture_output=True, env=env, cwd=ROOT, timeout=300, check=False,
                          **kw)  # type: ignore[call-overload]


def _many_keys(data: Path, n: int) -> dict[str, bytes]:
    """``n`` data keys (written in one transaction, as ensure_key writes each), each with a
    value sealed under it, to check that it opens later."""
    from ledger.primitives.crypto import Sealer, new_key

    sealed, rows = {}, []
    at = datetime.now(UTC)
    with open_ledger(load_settings(str(data), environ={})) as lg:
        ring = lg.main.keyring
        kek = ring.kek(1)
        for i in range(n):
            subject, key_id, dek = f"subject:{UUID(int=i)}", UUID(int=i + 1), new_key()
            rows.append({"key_id": key_id.hex, "subject": subject, "kek_version": 1,
                         "wrapped": kek.wrap(dek, key_id.bytes), "created_at": at})
            sealed[subject] = Sealer(dek).seal(b"x", b"k")
        with lg.main.engine.begin() as conn:
            conn.execute(ring.table.insert(), rows)
    return sealed


def _all_open(data: Path, sealed: dict[str, bytes]) -> dict[int, int]:
    """Every key opens its value, in a fresh process's view; the versions in use."""
    with open_ledger(load_settings(str(data), environ={})) as lg:
        ring = lg.main.keyring
        for subject, value in sealed.items():
            key_id = ring.key_id_for(subject)
            assert key_id is not None
            assert ring.sealer(key_id).open(value, b"k") == b"x"
        return ring.live_keys()


@pytest.mark.slow
def test_a_rotation_killed_at_random_moments_resumes(tmp_path: Path) -> None:
    data = tmp_path / "d"
    env = _env(data)
    assert _cli(env, "init").returncode == 0
    sealed = _many_keys(data, 8_000)
    rng = random.Random(14)
    kills, mixed = 0, False
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, "-m", "cli", "keys", "rotate", "--store",
                                 "main", "--batch-size", "1"], env=env, cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.8, 2.0))
        if proc.poll() is not None:
            break  # it finished first: the checks below still hold
        proc.send_signal(signal.SIGKILL)
        kills += 1
        proc.wait(timeout=60)
        in_use = _all_open(data, sealed)  # reads work after every kill
        assert set(in_use) <= {1, 2}
        mixed = mixed or set(in_use) == {1, 2}  # killed mid-way: both versions in use
    assert kills > 0 and mixed
    done = _cli(env, "keys", "rotate", "--store", "main", "--json")
    assert done.returncode == 0, done.stderr
    (result,) = json.loads(done.stdout)
    assert (result["version"], result["resumed"]) == (2, True)
    assert _all_open(data, sealed) == {2: len(sealed) + 1}  # and the audit key
    assert _cli(env, "keys", "retire", "1", "--store", "main").returncode == 0
    assert _all_open(data, sealed) == {2: len(sealed) + 1}
    assert _cli(env, "verify").returncode == 0


def test_a_passphrase_on_a_file_descriptor(tmp_path: Path) -> None:
    data = tmp_path / "d"
    env = {**_env(data), "LEDGER_KEK_PROVIDER": "passphrase", "LEDGER_KEK_PASSPHRASE_FD": "3"}
    secret = tmp_path / "passphrase"
    secret.write_text("a passphrase long enough\n")

    def with_fd(*args: str) -> subprocess.CompletedProcess[str]:
        # As an operator gives it: ledger ... 3<passphrase
        return subprocess.run(["sh", "-c", 'exec "$0" -m cli "$@" 3<"$PASSFILE"',
                               sys.executable, *args], text=True, capture_output=True,
                              env={**env, "PASSFILE": str(secret)}, cwd=ROOT, timeout=300,
                              check=False)

    r = with_fd("init")
    assert r.returncode == 0, r.stderr
    assert (data / "keys" / "main.kek.sealed").exists()
    assert not (data / "keys" / "main.kek").exists()
    assert with_fd("staff", "add", "--id", "a", "--name", "A", "--role", "admin").returncode == 0
    r = with_fd("keys", "rotate")
    assert r.returncode == 0, r.stderr
    r = _cli(env, "staff", "list", stdin=subprocess.DEVNULL)  # descriptor 3 not open
    assert r.returncode == 1
    assert r.stderr.startswith("error: cannot read the passphrase from file descriptor 3")
    r = _cli({**env, "LEDGER_KEK_PASSPHRASE_FD": "", "LEDGER_KEK_PASSPHRASE": "x" * 20},
             "staff", "list")
    assert (r.returncode, r.stderr) == (1, "error: LEDGER_KEK_PASSPHRASE is never read: a "
                                           "passphrase in the environment is visible to "
                                           "other processes; give it on a file descriptor "
                                           "(LEDGER_KEK_PASSPHRASE_FD) or at the prompt\n")
    assert "a passphrase long enough" not in r.stderr


def test_the_key_epochs_job_rotates_after_a_destruction_and_retires_old_epochs(
        run, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    practice(run)
    data = str(run.tmp_path / "data")
    assert key_epochs(data) == 0  # nothing destroyed: no rotation
    with open_ledger(load_settings(data)) as lg:
        assert [e.version for e in lg.keys.status("main")] == [1]
        lg.main.keyring.destroy("subject:someone", datetime.now(UTC))
    assert key_epochs(data) == 0  # rotated; version 1 is kept for the backup retention
    with open_ledger(load_settings(data)) as lg:
        assert [(e.version, e.retired_at is None) for e in lg.keys.status("main")] == [
            (1, True), (2, True)]
        assert [e.version for e in lg.keys.status("pn")] == [1]
    monkeypatch.setenv("LEDGER_BACKUP_RETENTION_DAYS", "1")
    import jobs.tasks

    later = datetime.now(UTC).replace(year=datetime.now(UTC).year + 1)

    class Clock(datetime):
        @classmethod
        def now(cls, tz: object = None) -> datetime:  # type: ignore[override]
            return later

    monkeypatch.setattr(jobs.tasks, "datetime", Clock)
    assert key_epochs(data) == 1
    with open_ledger(load_settings(data)) as lg:
        assert [(e.version, e.retired_at is not None) for e in lg.keys.status("main")] == [
            (1, True), (2, False)]
