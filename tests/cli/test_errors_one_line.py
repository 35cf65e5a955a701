"""Every error is one clear line with a documented exit code (issue 12, defect 8): escaped
messages, one-line usage errors, invalid UTF-8 in arguments, extreme dates, --out that
cannot be written, a locked database (busy: exit 5), a read-only data directory, a
garbage database, and verification of a read-only copy without its keys."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from ledger.bootstrap import Ledger
from ledger.errors import BadInput, IntegrityFailure
from ledger.settings import load_settings
from ledger.stores.probe import holds_data
from tests.cli.test_cli import ROOT, setup_practice
from tests.cli.test_cli_sealed import ok, practice
from tests.conftest import AT, all_events, seed

NOBODY = 65534


def one_line(r, code: int, line: str) -> None:  # type: ignore[no-untyped-def]
    assert (r.exit_code, r.stderr) == (code, line + "\n")


def test_messages_are_escaped_onto_one_line(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from cli.main import ledger

    odd = tmp_path / "a\nb\x1b"
    r = CliRunner().invoke(ledger, ["--data-dir", str(odd), "staff", "list"])
    assert r.exit_code == 1 and r.stderr.count("\n") == 1
    assert f"{tmp_path}/a\\nb\\x1b/keys/main.kek" in r.stderr


def test_usage_errors_are_one_line(run) -> None:  # type: ignore[no-untyped-def]
    one_line(run("staff", "add", "--id", "x", "--name", "X"), 2,
             "error: Missing option '--role'. Choose from: clinician, supervisor, billing, "
             "front-desk, compliance, admin (see 'ledger staff add --help')")
    one_line(run("staff", "add", "--id", "x", "--name", "X", "--role", "a\nb"), 2,
             "error: Invalid value for '--role': 'a\\nb' is not one of 'clinician', "
             "'supervisor', 'billing', 'front-desk', 'compliance', 'admin' "
             "(see 'ledger staff add --help')")
    one_line(run("--bogus"), 2, "error: No such option '--bogus' (see 'ledger --help')")
    one_line(run("frobnicate"), 2, "error: No such command 'frobnicate' (see 'ledger --help')")


def test_a_nul_in_an_argument_is_bad_input(run) -> None:  # type: ignore[no-untyped-def]
    setup_practice(run)
    one_line(run("staff", "add", "--id", "x", "--name", "a\x00b", "--role", "admin", "--as",
                 "admin"), 1, "error: the argument after --name contains a NUL character")


def cli(*args: str | bytes, env: dict[str, str], stdin: bytes | None = None,
        user: int | None = None) -> subprocess.CompletedProcess[bytes]:
    """``ledger ARGS`` in a new process (as ``user``, through setpriv, if given)."""
    prefix = [] if user is None else ["setpriv", f"--reuid={user}", f"--regid={user}",
                                      "--clear-groups"]
    return subprocess.run([*prefix, sys.executable, "-m", "cli", *args], input=stdin,
                          capture_output=True, env=env, cwd=ROOT, timeout=120, check=False)


def environment(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env["LEDGER_DATA_DIR"] = str(data)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def test_invalid_utf8_in_arguments_and_stdin_is_one_line(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    setup_practice(run)
    env = environment(tmp_path / "data")
    r = cli("access-log", "--as", b"comp\xff", env=env)
    assert (r.returncode, r.stderr) == (
        1, b"error: the argument after --as is not valid UTF-8 text\n")
    r = cli("staff", "add", "--id", "x", "--name", b"\xc3\x28", "--role", "admin", "--as",
            "admin", env=env)
    assert (r.returncode, r.stderr) == (
        1, b"error: the argument after --name is not valid UTF-8 text\n")
    r = cli("record-set", b"C\xff", "--as", "admin", env=env)
    assert (r.returncode, r.stderr) == (1, b"error: argument 2 is not valid UTF-8 text\n")
    r = cli("note", "write", "--client", "C-1", "--as", "dr-lee", stdin=b"ok\xff\xfe", env=env)
    assert (r.returncode, r.stderr) == (1, b"error: note text is not UTF-8 text\n")


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1899-12-31", "3000-01-01"])
def test_extreme_dates_are_one_line(run, day: str) -> None:  # type: ignore[no-untyped-def]
    setup_practice(run)
    rule = f"must lie between 1900-01-01 and 2999-12-31, not '{day}'"
    one_line(run("access-log", "--as", "admin", "--to", day), 1, f"error: --to {rule}")
    one_line(run("accounting", "C-1", "--as", "admin", "--at", day), 1,
             f"error: --at {rule}")
    one_line(run("record-set", "C-1", "--as", "dr-lee", "--purpose", "TREAT", "--as-of",
                 f"{day}T23:00:00-05:00"), 1,
             f"error: --as-of must lie between 1900-01-01 and 2999-12-31, not "
             f"'{day}T23:00:00-05:00'")
    one_line(run("client", "add", "--id", "C-2", "--name", "N", "--dob", day, "--state", "CA",
                 "--as", "desk"), 1, f"error: --dob {rule}")


def test_out_that_cannot_be_written_is_one_line(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    practice(run)
    afile = tmp_path / "afile"
    afile.write_text("x")
    checkpoints = tmp_path / "data" / "checkpoints"
    one_line(run("checkpoint", "--out", str(afile / "x")), 1,
             f"error: cannot write {afile / 'x'}: {afile} is not a directory")
    one_line(run("checkpoint", "--out", str(afile)), 2,
             f"error: Invalid value for '--out': Directory '{afile}' is a file "
             "(see 'ledger checkpoint --help')")
    assert not checkpoints.exists()  # nothing signed, nothing recorded
    one_line(run("export", "bundle", "--out", str(afile / "x")), 1,
             f"error: cannot write {afile / 'x'}: {afile} is not a directory")
    one_line(run("export", "bundle", "--out", str(tmp_path)), 1,
             f"error: {tmp_path} already exists; give a new directory")
    if os.path.isdir("/proc/self"):  # a directory nothing may be created in
        one_line(run("checkpoint", "--out", "/proc/x"), 1,
                 "error: cannot write /proc/x: No such file or directory")
        assert not checkpoints.exists()


def test_a_locked_database_is_busy_with_its_own_exit_code(run, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    setup_practice(run)
    monkeypatch.setattr("ledger.persistence.recorder.SQLITE_BUSY_TIMEOUT_S", 0.1)
    holder = sqlite3.connect(tmp_path / "data" / "main.sqlite", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        r = run("client", "add", "--id", "C-2", "--name", "N", "--dob", "1990-01-01",
                "--state", "CA", "--as", "desk")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    one_line(r, 5, "error: the database is busy: another process holds its lock; nothing "
                   "was saved, try again")
    ok(run("client", "add", "--id", "C-2", "--name", "N", "--dob", "1990-01-01", "--state",
           "CA", "--as", "desk"))


def test_a_client_added_twice_at_once_is_already_there(lg: Ledger,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The second of two concurrent ``client add`` found no client when it checked, and
    meets the first one's when it commits."""
    seed(lg)
    before = len(all_events(lg))
    monkeypatch.setattr(lg.main, "client_exists", lambda client_id: False)
    with pytest.raises(BadInput, match=r"^client C-1 already exists$"):
        lg.clients.register("C-1", "Jane Roe", date(1990, 4, 1), "CA", by="desk", at=AT)
    assert len(all_events(lg)) == before


def test_a_garbage_database_fails_verify_with_exit_3_naming_it(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    setup_practice(run)
    pn = tmp_path / "data" / "psychotherapy.sqlite"
    for extra in ("-wal", "-shm"):
        Path(f"{pn}{extra}").unlink(missing_ok=True)
    pn.write_bytes(b"this is not a database" * 100)
    r = run("verify")
    assert r.exit_code == 3 and r.stderr == ""
    assert r.stdout.startswith("main: intact, ")
    assert r.stdout.endswith(f"psychotherapy: DAMAGED unreadable: the database file {pn} is "
                             "not a SQLite database, or is damaged\n"
                             "journal: intact, 0 destroyed clients\n")


def test_a_missing_store_is_damage_once_it_held_events(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    practice(run)  # the sealed store holds a note, its dates and the audit entry: head at 3
    pn = tmp_path / "data" / "psychotherapy.sqlite"
    for extra in ("", "-wal", "-shm"):
        Path(f"{pn}{extra}").unlink(missing_ok=True)
    r = run("verify")
    assert r.exit_code == 3 and r.stdout.endswith(
        f"psychotherapy: DAMAGED missing: the database file {pn} is missing, but the store "
        "was known to reach position 3\njournal: intact, 0 destroyed clients\n")
    one_line(run("--data-dir", str(tmp_path / "elsewhere"), "verify"), 1,
             f"error: no store in {tmp_path / 'elsewhere'}: run 'ledger init', or give the "
             "data directory (of a copy) with --data-dir")


def test_probing_a_garbage_database_names_it(tmp_path: Path) -> None:
    settings = load_settings(str(tmp_path), environ={})
    (tmp_path / "main.sqlite").write_bytes(b"garbage" * 100)
    with pytest.raises(IntegrityFailure, match=r"^the main store's database .*main.sqlite is "
                                               r"not a SQLite database, or is damaged"):
        holds_data(settings.main)


@pytest.fixture
def copy(run) -> Iterator[Path]:  # type: ignore[no-untyped-def]
    """A copy of a practice's data directory that this test's reader may read, not write."""
    setup_practice(run)
    top = Path(tempfile.mkdtemp(prefix="ledger-read-only-"))
    os.chmod(top, 0o755)
    data = top / "data"
    yield data
    immutable(data, False)
    for path in [data, *data.rglob("*")]:
        if not path.is_symlink():
            path.chmod(0o700 if path.is_dir() else 0o600)
    shutil.rmtree(top)


def immutable(data: Path, on: bool) -> bool:
    """Set (or clear) the immutable attribute on ``data`` and everything in it: even root
    cannot write such files. False where the file system or the tools do not allow it."""
    if shutil.which("chattr") is None:
        return False
    paths = [str(p) for p in [*data.rglob("*"), data] if not p.is_symlink()]
    done = subprocess.run(["chattr", "+i" if on else "-i", *paths], capture_output=True,
                          timeout=60, check=False)
    return done.returncode == 0


def read_only(data: Path) -> int | None:
    """Make ``data`` read-only for the reader; the user to run as (None: this one). Root
    ignores file modes, so as root the files are made immutable, or, where that is not
    possible, the reader is another user, who owns the copy."""
    for path in [*data.rglob("*"), data]:
        path.chmod(path.stat().st_mode & ~0o222)
    if os.geteuid() != 0 or immutable(data, True):
        return None
    user = NOBODY
    if user is not None and shutil.which("setpriv") is None:
        pytest.skip("running as root, and setpriv is not there to run as another user")
    for path in [*data.rglob("*"), data]:
        if user is not None:
            os.chown(path, user, user)
        path.chmod(path.stat().st_mode & ~0o222)
    return user


def test_a_read_only_data_directory(run, tmp_path: Path, copy: Path) -> None:  # type: ignore[no-untyped-def]
    shutil.copytree(tmp_path / "data", copy)
    user = read_only(copy)
    env = environment(copy)
    r = cli("client", "add", "--id", "C-2", "--name", "N", "--dob", "1990-01-01", "--state",
            "CA", "--as", "desk", env=env, user=user)
    assert r.returncode == 1, r.stderr
    # SQLite says which, depending on whether it could open the files beside the database
    # (an immutable directory, as root, lets it create none).
    assert r.stderr in (b"error: the database cannot be written (a read-only data directory "
                        b"or file, or no write permission); nothing was saved. Reading "
                        b"commands such as ledger verify work on a read-only copy\n",
                        b"error: a database file cannot be opened: it, its directory or the "
                        b"files beside it are read-only or unreadable (check the permissions "
                        b"of the data directory); nothing was saved\n")
    # Verifying reads only and needs no key: a read-only copy without its keys verifies.
    frozen = immutable(copy / "keys", False)
    for key in (copy / "keys").iterdir():
        os.chmod(copy / "keys", 0o700)
        key.unlink()
    if frozen:
        immutable(copy / "keys", True)
    r = cli("verify", env=env, user=user)
    assert (r.returncode, r.stderr) == (0, b""), r.stderr
    assert [line.split(b",")[0] for line in r.stdout.splitlines()] == [
        b"main: intact", b"psychotherapy: intact", b"journal: intact"]
    assert sorted(p.name for p in copy.iterdir()) == sorted(
        p.name for p in (tmp_path / "data").iterdir())  # nothing was created
