"""``ledger backup`` and ``ledger restore`` through click's runner and in real processes:
what they print, their exit codes, and that verify reports the restore afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.cli.test_cli import setup_practice

ROOT = Path(__file__).resolve().parents[2]


def test_backup_then_restore(run) -> None:  # type: ignore[no-untyped-def]
    note_id = setup_practice(run)
    assert run("checkpoint").exit_code == 0
    out = run.tmp_path / "backup"
    r = run("backup", "--out", str(out), "--json")
    assert r.exit_code == 0, r.output
    made = json.loads(r.output)
    assert [s["store"] for s in made["stores"]] == ["psychotherapy", "main"]
    assert (out / "manifest.json").exists()
    assert not [p for p in out.rglob("*") if p.suffix in (".kek", ".key")]
    r = run("note", "amend", note_id, "--as", "dr-lee", "--reason", "later", input="v2\n")
    assert r.exit_code == 0

    r = run("restore", str(out))
    assert r.exit_code == 1
    assert r.stderr == ("error: the main and psychotherapy stores hold data: restoring "
                        "replaces them, and every event after the backup is lost; give --force "
                        "to do so\n")
    r = run("restore", str(out), "--force")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0].startswith(f"main: restored to position {made['stores'][1]['events']}, ")
    assert "later events lost, 0 destructions re-applied" in lines[0]
    assert lines[0].endswith("(checkpoint epoch 2)")
    r = run("verify")
    assert r.exit_code == 0, r.output
    assert "; restored from a backup on " in r.output.splitlines()[0]
    r = run("note", "show", note_id, "--as", "dr-lee", "--purpose", "TREAT")
    assert "first version" in r.output and "version 1 of 1" in r.output  # v2 was lost


def test_backup_refuses_a_non_empty_directory_and_restore_a_non_backup(  # type: ignore[no-untyped-def]
        run) -> None:
    setup_practice(run)
    taken = run.tmp_path / "taken"
    taken.mkdir()
    (taken / "something").write_text("x")
    r = run("backup", "--out", str(taken))
    assert r.exit_code == 1
    assert r.stderr == (f"error: {taken} already exists and is not an empty directory; give "
                        "a new one\n")
    r = run("restore", str(taken), "--force")
    assert r.exit_code == 3
    assert r.stderr.startswith(f"error: {taken}/manifest.json: cannot read the backup's manifest")
    r = run("restore", str(run.tmp_path / "missing"))
    assert r.exit_code == 1 and r.stderr.endswith("missing is not a backup directory\n")


def test_backup_and_restore_in_real_processes(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env["LEDGER_DATA_DIR"] = str(tmp_path / "d")

    def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "cli", *args], input=stdin, text=True,
                              capture_output=True, env=env, cwd=ROOT, timeout=120, check=False)

    assert cli("init").returncode == 0
    assert cli("staff", "add", "--id", "a", "--name", "A", "--role", "admin").returncode == 0
    backed = cli("backup", "--out", str(tmp_path / "b"))
    assert backed.returncode == 0, backed.stderr
    assert backed.stdout.splitlines()[-1] == f"backup verified and signed: {tmp_path / 'b'}"
    restored = cli("restore", str(tmp_path / "b"), "--force")
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.startswith("main: restored to position ")
    verified = cli("verify")
    assert verified.returncode == 0, verified.stdout
    assert "restored from a backup on" in verified.stdout


def test_remote_verify_reads_the_restore_and_the_notice() -> None:
    """The service's verification carries the restore and the journal's notice, and the
    remote command rebuilds them as local mode has them."""
    from api.routes.evidence import RestoredOut, StoreReport
    from cli.remote.decode import build
    from cli.remote.evidence import _report, _StoreReport

    sent = StoreReport(store="main", ok=True, events=44, head=None, damage=None,
                       restored=RestoredOut(position=41, lost=7,
                                            at="2026-11-30T07:00:00+00:00"),  # type: ignore[arg-type]
                       notice="a notice").model_dump(mode="json")
    report = _report(build(_StoreReport, sent))
    assert report.restored is not None
    assert (report.restored.position, report.restored.lost) == (41, 7)
    assert report.restored.describe() == ("restored from a backup on 2026-11-30 to position "
                                          "41, 7 later events lost")
    assert report.notice == "a notice"
    old = {k: v for k, v in sent.items() if k not in ("restored", "notice")}  # older server
    assert _report(build(_StoreReport, old)).restored is None
