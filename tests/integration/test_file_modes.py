"""Every file the ledger makes is 0600 and every directory 0700, whatever the umask; ``init``
makes an open directory private or refuses it (issue 12, defect 9).

The writes run in child processes under umask 000, the most open there is: through the
command (which also sets its own umask) and through the Python API (which does not, so the
modes must come from how each file is created)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import Result

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 120.0


def not_private(top: Path) -> list[str]:
    """Every file under ``top`` (itself included) that is not 0600, every directory not
    0700, with its mode."""
    found = []
    for path in [top, *top.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        want = 0o700 if path.is_dir() else 0o600
        if mode != want:
            found.append(f"{path.relative_to(top.parent)} {mode:04o}")
    return found


def under_umask_000(args: list[str], env: dict[str, str], stdin: str | None = None
                    ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, input=stdin, text=True, capture_output=True, env=env, cwd=ROOT,
                          timeout=TIMEOUT_S, check=False, preexec_fn=lambda: os.umask(0))


def clean_env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env["LEDGER_DATA_DIR"] = str(data)
    return env


def test_the_command_makes_only_private_files(tmp_path: Path) -> None:
    data, out = tmp_path / "data", tmp_path / "out"
    out.mkdir(mode=0o700)
    env = clean_env(data)

    def ledger(*args: str, stdin: str | None = None) -> str:
        done = under_umask_000([sys.executable, "-m", "cli", *args], env, stdin)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    ledger("init")
    ledger("staff", "add", "--id", "admin", "--name", "A", "--role", "admin")
    for staff_id, role in (("dr", "clinician"), ("desk", "front-desk"), ("bill", "billing"),
                           ("comp", "compliance")):
        ledger("staff", "add", "--id", staff_id, "--name", staff_id, "--role", role,
               "--as", "admin")
    ledger("client", "add", "--id", "C-1", "--name", "N", "--dob", "2000-01-01",
           "--state", "CA", "--as", "desk")
    note = ledger("note", "write", "--client", "C-1", "--as", "dr", stdin="a note\n")
    ledger("pn", "write", "--client", "C-1", "--as", "dr", stdin="a sealed note\n")
    ledger("disclose", "--client", "C-1", "--as", "bill", "--to", "Acme Health Plan",
           "--recipient-type", "payer", "--purpose", "HPAYMT", "--note", note,
           "--out", str(out / "release.json"))
    ledger("checkpoint", "--out", str(out / "notes"))
    ledger("export", "bundle", "--out", str(out / "bundle"))
    ledger("export", "access-request", "C-1", "--as", "comp", "--out", str(out / "request"))
    ledger("verify")
    assert sorted(p.name for p in out.iterdir()) == ["bundle", "notes", "release.json",
                                                     "request"]
    assert not_private(data) == []
    assert [bad for p in out.iterdir() for bad in not_private(p)] == []


API_SESSION = """
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from ledger import initialise, load_settings, open_ledger

at = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
settings = load_settings(sys.argv[1], environ={})
initialise(settings, at)
with open_ledger(settings) as lg:
    lg.staff.add("admin", "A", "admin", by=None, at=at)
    lg.staff.add("dr", "D", "clinician", by="admin", at=at)
    lg.staff.add("desk", "F", "front-desk", by="admin", at=at)
    lg.clients.register("C-1", "N", date(2000, 1, 1), "CA", by="desk", at=at)
    lg.notes.write("C-1", "a note", by="dr", session_date=None, at=at)
    lg.psychotherapy.write("C-1", "a sealed note", by="dr", session_date=None, at=at)
    lg.integrity.checkpoint(at=at, out=Path(sys.argv[2]) / "notes")
    lg.proofs.export_bundle(Path(sys.argv[2]) / "bundle")
    # While the stores are open, their -wal and -shm files exist: name them with their modes.
    for path in sorted(Path(sys.argv[1]).glob("*.sqlite-*")):
        print(path.name, oct(path.stat().st_mode & 0o777))
"""


def test_the_python_api_makes_only_private_files(tmp_path: Path) -> None:
    data, out = tmp_path / "data", tmp_path / "out"
    out.mkdir(mode=0o700)
    done = under_umask_000([sys.executable, "-c", API_SESSION, str(data), str(out)],
                           clean_env(data))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"{store}.sqlite-{side} 0o600" for store in ("main", "psychotherapy")
        for side in ("shm", "wal")]
    assert (data / "heads" / "main.json").exists()
    assert not_private(data) == []
    assert [bad for p in out.iterdir() for bad in not_private(p)] == []


def test_init_makes_open_directories_private(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    (data / "keys").mkdir(parents=True)
    data.chmod(0o755)
    (data / "keys").chmod(0o775)
    done: Result = run("init")
    assert done.exit_code == 0, done.output
    lines = done.stdout.splitlines()
    assert f"made {data} private (0700): it was 0755, open to other users" in lines
    assert f"made {data / 'keys'} private (0700): it was 0775, open to other users" in lines
    assert not_private(data) == []
    again: Result = run("init")
    assert again.exit_code == 0 and "private" not in again.stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a directory to another user")
def test_init_refuses_an_open_directory_it_does_not_own(run, tmp_path: Path  # type: ignore[no-untyped-def]
                                                        ) -> None:
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o755)
    os.chown(data, 65534, 65534)  # nobody's
    done: Result = run("init")
    assert done.exit_code == 1
    assert done.stderr == (f"error: {data} is open to other users (mode 0755) and belongs to "
                           "another user, so it cannot be made private: have its owner run "
                           "chmod 700 on it, or use another directory\n")
    assert list(data.iterdir()) == []  # refused before anything was made
    assert stat.S_IMODE(data.stat().st_mode) == 0o755
