"""The command line through click's CliRunner, plus one real subprocess run."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from cli.main import ledger

ROOT = Path(__file__).resolve().parents[2]


def setup_practice(run) -> str:  # type: ignore[no-untyped-def]
    assert run("init").exit_code == 0
    assert run("staff", "add", "--id", "admin", "--name", "Ada", "--role", "admin").exit_code == 0
    for staff_id, role in [("dr-lee", "clinician"), ("bill", "billing"), ("desk", "front-desk")]:
        r = run("staff", "add", "--id", staff_id, "--name", staff_id, "--role", role,
                "--as", "admin")
        assert r.exit_code == 0, r.output
    r = run("client", "add", "--id", "C-1", "--name", "Jane Roe", "--dob", "1990-04-01",
            "--state", "ca", "--as", "desk")
    assert r.exit_code == 0, r.output
    r = run("note", "write", "--client", "C-1", "--as", "dr-lee", "--session-date",
            "2026-01-02", input="first version\n")
    assert r.exit_code == 0, r.output
    return r.output.strip()


def test_full_session(run) -> None:  # type: ignore[no-untyped-def]
    note_id = setup_practice(run)
    assert re.fullmatch(r"[0-9a-f-]{36}", note_id)
    r = run("note", "amend", note_id, "--as", "dr-lee", "--reason", "typo", input="second\n")
    assert r.exit_code == 0 and r.output.strip() == f"{note_id} version 2"
    r = run("note", "show", note_id, "--as", "dr-lee", "--purpose", "TREAT", "--version", "1")
    assert r.exit_code == 0 and "first version" in r.output and "version 1 of 2" in r.output
    r = run("note", "show", note_id, "--as", "dr-lee", "--purpose", "treat", "--json")
    shown = json.loads(r.output)
    assert shown["text"] == "second\n" and shown["version"] == 2
    assert shown["amendment_reason"] == "typo"
    r = run("note", "list", "--client", "C-1", "--as", "dr-lee", "--json")
    assert [n["note_id"] for n in json.loads(r.output)] == [note_id]
    r = run("staff", "list", "--json")
    assert {s["staff_id"] for s in json.loads(r.output)} == {"admin", "dr-lee", "bill", "desk"}
    r = run("verify", "--json")
    assert r.exit_code == 0
    assert json.loads(r.output)[0]["ok"] is True


def test_refusal_exits_4_with_one_line(run) -> None:  # type: ignore[no-untyped-def]
    note_id = setup_practice(run)
    r = run("note", "show", note_id, "--as", "bill", "--purpose", "TREAT")
    assert r.exit_code == 4
    assert r.stderr == ("error: refused: role billing may not read notes for purpose TREAT "
                        "(the attempt was recorded)\n")
    assert "first version" not in r.output


@pytest.mark.parametrize(("args", "code", "message"), [
    (("note", "show", "not-a-uuid", "--as", "dr-lee", "--purpose", "TREAT"), 1,
     "error: NOTE must be an id"),
    (("note", "show", "00000000-0000-0000-0000-000000000000", "--as", "dr-lee", "--purpose",
      "TREAT"), 1, "error: note 00000000-0000-0000-0000-000000000000 not found"),
    (("note", "show", "00000000-0000-0000-0000-000000000000", "--as", "dr-lee", "--purpose",
      "NOPE"), 1, "error: unknown purpose of use 'NOPE'"),
    (("client", "add", "--id", "C-2", "--name", "X", "--dob", "1990-13-01", "--state", "CA",
      "--as", "desk"), 1, "error: --dob must be a date like 2024-03-31"),
    (("client", "add", "--id", "C-2", "--name", "X", "--dob", "1990-W01-1", "--state", "CA",
      "--as", "desk"), 1, "error: --dob must be a date like 2024-03-31"),
    (("client", "add", "--id", "C-2", "--name", "X", "--dob", "19900101", "--state", "CA",
      "--as", "desk"), 1, "error: --dob must be a date like 2024-03-31"),
    (("note", "write", "--client", "C-9", "--as", "dr-lee", "--file", "/nonexistent/x"), 1,
     "error: cannot read note text /nonexistent/x: No such file or directory"),
    (("staff", "add", "--id", "x", "--name", "X"), 2, "Missing option '--role'"),
    (("note", "frobnicate"), 2, "No such command 'frobnicate'"),
    (("verify", "--head", "zz"), 1, "error: a head is POSITION:HEX"),
])
def test_bad_input_is_one_line(run, args: tuple[str, ...], code: int,  # type: ignore[no-untyped-def]
                               message: str) -> None:
    setup_practice(run)
    r = run(*args)
    assert r.exit_code == code
    assert message in r.stderr
    assert "Traceback" not in r.output + r.stderr
    if code == 1:
        assert r.stderr.count("\n") == 1


def test_commands_before_init_say_so(run) -> None:  # type: ignore[no-untyped-def]
    r = run("staff", "list")
    assert r.exit_code == 1
    assert re.match(r"error: no key-encryption key for the main store at .*; run 'ledger init'",
                    r.stderr)


def test_init_is_idempotent_and_keeps_keys(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run("init").exit_code == 0
    key = (tmp_path / "data" / "keys" / "main.kek").read_bytes()
    r = run("init")
    assert r.exit_code == 0 and "kept existing key-encryption key for the main store" in r.output
    assert (tmp_path / "data" / "keys" / "main.kek").read_bytes() == key


def test_verify_reports_damage_with_exit_3(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    setup_practice(run)
    db = sqlite3.connect(tmp_path / "data" / "main.sqlite")
    db.execute("UPDATE ledger_events SET topic = topic || 'x' WHERE id = 3")
    db.commit()
    db.close()
    r = run("verify")
    assert r.exit_code == 3
    assert "main: DAMAGED at position 3 (notification id 3): edited" in r.output


def test_unexpected_errors_show_no_traceback(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    setup_practice(run)
    (tmp_path / "data" / "main.sqlite").write_bytes(b"this is not a database" * 100)
    r = run("staff", "list")
    assert r.exit_code == 1
    assert r.stderr.startswith("error: unexpected ")
    assert "Traceback" not in r.output + r.stderr


def commands(group: click.Group, prefix: str = "ledger") -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            found.extend(commands(command, path))
        else:
            found.append((path, command))
    return found


def test_every_command_is_documented_with_help_and_example() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [path for path, _ in commands(ledger) if path not in readme]
    assert missing == []
    for path, command in commands(ledger):
        assert command.help and "Example: ledger" in command.help, path


def test_real_subprocess_session(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env["LEDGER_DATA_DIR"] = str(tmp_path / "d")

    def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "cli", *args], input=stdin, text=True,
                              capture_output=True, env=env, cwd=ROOT, timeout=120, check=False)

    assert cli("init").returncode == 0
    assert cli("staff", "add", "--id", "a", "--name", "A", "--role", "admin").returncode == 0
    assert cli("staff", "add", "--id", "d", "--name", "D", "--role", "clinician",
               "--as", "a").returncode == 0
    assert cli("client", "add", "--id", "C", "--name", "N", "--dob", "2000-01-01",
               "--state", "TX", "--as", "d").returncode == 0
    written = cli("note", "write", "--client", "C", "--as", "d", stdin="subprocess text")
    assert written.returncode == 0, written.stderr
    shown = cli("note", "show", written.stdout.strip(), "--as", "d", "--purpose", "TREAT")
    assert shown.returncode == 0 and "subprocess text" in shown.stdout
    refused = cli("note", "show", written.stdout.strip(), "--as", "a", "--purpose", "TREAT")
    assert refused.returncode == 4 and refused.stderr.startswith("error: refused:")
    pn_written = cli("pn", "write", "--client", "C", "--as", "d", stdin="sealed text")
    assert pn_written.returncode == 0, pn_written.stderr
    pn_refused = cli("pn", "show", pn_written.stdout.strip(), "--as", "a", "--purpose", "TREAT")
    assert pn_refused.returncode == 4 and "sealed text" not in pn_refused.stdout
    verified = cli("verify")
    assert verified.returncode == 0
    assert [line.split(":")[0] for line in verified.stdout.splitlines()] == [
        "main", "psychotherapy", "journal"]
