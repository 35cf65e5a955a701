"""Releases at the edges (issue 12, defects 1 and 3): who obtains a psychotherapy note,
where its content goes, retries, and failures after the commit."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.test_cli_sealed import ok, practice
from tests.conftest import release_file

ROOT = Path(__file__).resolve().parents[2]
FATHER = "she spoke of her father"


def with_clin2(run) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    note_id, pn_id = practice(run)
    ok(run("staff", "add", "--id", "clin2", "--name", "C2", "--role", "clinician",
           "--as", "admin"))
    return note_id, pn_id


def pn_disclosures(run) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    log = json.loads(ok(run("access-log", "--as", "comp", "--store", "pn", "--json")))
    return [(e["actor_id"], e["outcome"]) for e in log if e["action"] == "disclose"]


def test_the_reported_attack_gets_nothing_and_is_recorded(run) -> None:  # type: ignore[no-untyped-def]
    """issue 12's example: another clinician names themselves as law enforcement."""
    _, pn_id = with_clin2(run)
    out = release_file(run)
    r = run("disclose", "--client", "C-1", "--as", "clin2", "--to", "Me Myself",
            "--recipient-type", "law-enforcement", "--purpose", "LEGAL", "--pn", pn_id,
            "--exception", "REQUIRED_BY_LAW_512a", "--assertion", "trust me", "--out", out)
    assert r.exit_code == 4 and FATHER not in r.output
    assert r.stderr == ("error: refused: REQUIRED_BY_LAW_512a is invoked only by compliance "
                        "staff (the attempt was recorded)\n")
    assert not Path(out).exists()
    r = run("pn", "show", pn_id, "--as", "clin2", "--purpose", "PUBHLTH", "--exception",
            "SUPERVISED_TRAINING")
    assert r.exit_code == 4 and FATHER not in r.output
    assert pn_disclosures(run) == [("clin2", "denied")]


def test_a_granted_pn_release_goes_only_to_the_file(run) -> None:  # type: ignore[no-untyped-def]
    _, pn_id = with_clin2(run)
    out = release_file(run)
    shown = ok(run("disclose", "--client", "C-1", "--as", "comp", "--to", "Superior Court",
                   "--recipient-type", "court", "--purpose", "LEGAL", "--pn", pn_id,
                   "--exception", "REQUIRED_BY_LAW_512a", "--assertion",
                   "order 26-CV-1 of the Superior Court, 2026-01-10", "--out", out))
    assert FATHER not in shown and "request id " in shown
    assert (os.stat(out).st_mode & 0o777) == 0o600
    package = json.loads(Path(out).read_text(encoding="utf-8"))
    assert package["notes"][0]["text"] == f"{FATHER}\n"
    assert package["assertion"] == "order 26-CV-1 of the Superior Court, 2026-01-10"


def test_a_retry_with_the_request_id_returns_the_first_release(run) -> None:  # type: ignore[no-untyped-def]
    note_id, _ = practice(run)
    release = ["disclose", "--client", "C-1", "--as", "bill", "--to", "Acme Health Plan",
               "--recipient-type", "payer", "--purpose", "HPAYMT", "--note", note_id,
               "--request-id", "claim-77", "--json"]
    first = json.loads(ok(run(*release)))
    again = json.loads(ok(run(*release)))
    assert again == first and first["request_id"] == "claim-77"
    log = json.loads(ok(run("access-log", "--as", "comp", "--json")))
    assert sum(e["action"] == "disclose" for e in log) == 1
    other = run(*release[:-3], "--purpose", "COVERAGE", "--request-id", "claim-77")
    assert other.exit_code == 1 and other.stderr.startswith(
        "error: request id claim-77 was already used for another request (disclosure ")


def test_note_and_pn_write_retries_return_the_first_id(run) -> None:  # type: ignore[no-untyped-def]
    practice(run)
    for command in ("note", "pn"):
        ids = {ok(run(command, "write", "--client", "C-1", "--as", "dr-lee", "--request-id",
                      f"{command}-1", input="text\n")).strip() for _ in range(2)}
        assert len(ids) == 1
    bad = run("note", "write", "--client", "C-1", "--as", "dr-lee", "--request-id", "a b",
              input="text\n")
    assert bad.exit_code == 1 and bad.stderr.startswith("error: a request id is 1 to 128 ")


def test_a_failure_after_the_commit_warns_and_the_retry_writes_the_file(
        run, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """The release is recorded before the file is written: a full disk then is a warning
    with exit 0, and the same request writes the file, recording nothing more."""
    _, pn_id = practice(run)
    command = ["disclose", "--client", "C-1", "--as", "comp", "--to", "County Coroner",
               "--recipient-type", "coroner", "--purpose", "PUBHLTH", "--pn", pn_id,
               "--exception", "CORONER_512g1", "--assertion", "ME request 26-114"]
    out = release_file(run)

    def full(_fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    failed = run(*command, "--out", out)
    monkeypatch.undo()
    assert failed.exit_code == 0, failed.stderr
    assert "granted under exception" in failed.stdout and not Path(out).exists()
    request_id = failed.stdout.rsplit("request id ", 1)[1].split()[0]
    assert failed.stderr == (
        f"warning: disclosure {failed.stdout.split()[1].rstrip(':')} is recorded, but {out} "
        "could not be written (No space left on device); run the same command with "
        f"--request-id {request_id} and a new --out to write it\n")
    out2 = release_file(run)
    ok(run(*command, "--out", out2, "--request-id", request_id))
    assert json.loads(Path(out2).read_text(encoding="utf-8"))["notes"][0]["text"] == (
        f"{FATHER}\n")
    assert pn_disclosures(run) == [("comp", "granted")]


def test_a_retry_in_a_real_process(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    practice(run)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env["LEDGER_DATA_DIR"] = str(tmp_path / "data")
    ids = set()
    for _ in range(2):
        done = subprocess.run([sys.executable, "-m", "cli", "note", "write", "--client", "C-1",
                               "--as", "dr-lee", "--request-id", "ehr-1"], input="text\n",
                              capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
                              check=False)
        assert (done.returncode, done.stderr) == (0, "")
        ids.add(done.stdout.strip())
    assert len(ids) == 1


@pytest.mark.parametrize("damage", ["directory", "garbage"])
def test_a_write_whose_head_file_cannot_be_updated_still_succeeds(
        run, tmp_path: Path, damage: str,  # type: ignore[no-untyped-def]
        caplog: pytest.LogCaptureFixture) -> None:
    """issue 12, defect 3: the note is saved, so the command says so (exit 0, its id) and
    warns about the head file; verify then reports the head file's state."""
    practice(run)
    heads = tmp_path / "data" / "heads" / "main.json"
    heads.unlink()
    if damage == "directory":
        heads.mkdir()
    else:
        heads.write_text("{not json", encoding="utf-8")
    r = run("note", "write", "--client", "C-1", "--as", "dr-lee", input="kept\n")
    assert r.exit_code == 0, r.stderr
    note_id = r.stdout.strip()
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "but its head was not recorded in" in warnings[0]
    assert "kept" in ok(run("note", "show", note_id, "--as", "dr-lee", "--purpose", "TREAT"))
