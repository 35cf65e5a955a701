"""Input a person or a program supplies is read up to its limit plus one byte, then
refused in one line: an endless file or pipe never exhausts memory (issue 12, defect 7)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ledger.aggregates.note import MAX_NOTE_BYTES
from tests.cli.test_cli import ROOT
from tests.cli.test_cli_sealed import ok, practice


def test_an_endless_note_file_is_refused(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    practice(run)
    r = run("note", "write", "--client", "C-1", "--as", "dr-lee", "--file", "/dev/zero")
    assert r.exit_code == 1
    assert r.stderr == f"error: note text /dev/zero is larger than {MAX_NOTE_BYTES} bytes\n"
    big = tmp_path / "big.txt"
    big.write_bytes(b"a" * (MAX_NOTE_BYTES + 1))
    r = run("pn", "write", "--client", "C-1", "--as", "dr-lee", "--file", str(big))
    assert r.stderr == f"error: note text {big} is larger than {MAX_NOTE_BYTES} bytes\n"
    exact = tmp_path / "exact.txt"
    exact.write_bytes(b"a" * MAX_NOTE_BYTES)
    ok(run("note", "write", "--client", "C-1", "--as", "dr-lee", "--file", str(exact)))
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe")
    r = run("note", "write", "--client", "C-1", "--as", "dr-lee", "--file", str(bad))
    assert r.stderr == f"error: {bad} is not UTF-8 text\n"


def test_an_endless_pipe_is_refused(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    practice(run)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env["LEDGER_DATA_DIR"] = str(tmp_path / "data")
    yes = subprocess.Popen(["yes"], stdout=subprocess.PIPE)
    try:
        done = subprocess.run([sys.executable, "-m", "cli", "note", "write", "--client", "C-1",
                               "--as", "dr-lee"], stdin=yes.stdout, capture_output=True,
                              text=True, env=env, cwd=ROOT, timeout=120, check=False)
    finally:
        yes.kill()
        yes.wait()
    assert done.returncode == 1
    assert done.stderr == f"error: note text is larger than {MAX_NOTE_BYTES} bytes\n"


def test_endless_key_and_checkpoint_files_are_refused(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    practice(run)
    ok(run("checkpoint"))
    r = run("proof", "inclusion", "1", "--checkpoint", "/dev/zero")
    assert r.exit_code == 1
    assert r.stderr == "error: the checkpoint /dev/zero is larger than 65536 bytes\n"
    r = run("verify-bundle", str(tmp_path), "--public-key", "/dev/zero")
    assert r.stderr == "error: the public key /dev/zero is larger than 1024 bytes\n"
    kek = tmp_path / "data" / "keys" / "main.kek"
    kek.write_bytes(b"A" * 5000)  # still 0600
    r = run("staff", "list")
    assert r.exit_code == 1
    assert r.stderr == f"error: key file {kek} is larger than 1024 bytes\n"
    kek.unlink()
    kek.symlink_to("/dev/zero")  # readable by all: refused before it is read
    assert run("staff", "list").stderr.endswith("is accessible to other users; chmod 600 it\n")
