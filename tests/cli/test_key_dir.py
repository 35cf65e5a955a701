"""Keys outside the data directory (issue 13: LEDGER_KEY_DIR)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.cli.test_cli_sealed import ok


def test_keys_live_in_the_key_directory_and_nowhere_else(
        run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    keys = tmp_path / "vault" / "ledger-keys"
    monkeypatch.setenv("LEDGER_KEY_DIR", str(keys))
    ok(run("init"))
    ok(run("staff", "add", "--id", "admin", "--name", "A", "--role", "admin"))
    ok(run("staff", "add", "--id", "dr-lee", "--name", "L", "--role", "clinician", "--as",
           "admin"))
    ok(run("client", "add", "--id", "C-1", "--name", "Jane Roe", "--dob", "1990-04-01",
           "--state", "CA", "--as", "admin"))
    note = ok(run("note", "write", "--client", "C-1", "--as", "dr-lee", input="kept\n")).strip()
    ok(run("checkpoint"))
    assert sorted(p.name for p in keys.iterdir()) == [
        "checkpoint.key", "checkpoint.pub", "main.kek", "pseudonym.key", "psychotherapy.kek"]
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    assert not (tmp_path / "data" / "keys").exists()
    monkeypatch.delenv("LEDGER_KEY_DIR")
    without = run("note", "show", note, "--as", "dr-lee", "--purpose", "TREAT")
    assert without.exit_code == 1 and "no key-encryption key" in without.stderr
    assert ok(run("verify")).startswith("main: intact")  # verifying needs no key
    assert not (tmp_path / "data" / "keys").exists()  # no key was made in its place
