"""``ledger import`` from the command line: its output, its one-line errors and exit codes,
a dry run, a refusal, and the two times of an imported note in the reports."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import Result

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "history-2015.jsonl"


def ok(result: Result) -> str:
    assert result.exit_code == 0, (result.output, result.stderr)
    return result.output


def practice(run) -> None:  # type: ignore[no-untyped-def]
    ok(run("init"))
    ok(run("staff", "add", "--id", "admin", "--name", "Ada", "--role", "admin"))
    for staff_id, role in [("dr-lee", "clinician"), ("dr-kim", "clinician"),
                           ("comp", "compliance")]:
        ok(run("staff", "add", "--id", staff_id, "--name", staff_id, "--role", role,
               "--as", "admin"))


def test_import_then_reimport_and_the_reports(run) -> None:  # type: ignore[no-untyped-def]
    practice(run)
    assert ok(run("import", str(FIXTURE), "--as", "admin", "--dry-run")) == (
        "would add: 1 clients, 2 episodes, 2 contacts, 4 progress notes, 1 psychotherapy "
        "notes\nwould skip (already recorded): 0 clients, 0 episodes, 0 contacts, 0 progress "
        "notes, 0 psychotherapy notes\n")
    assert ok(run("import", str(FIXTURE), "--as", "admin")).startswith(
        "added: 1 clients, 2 episodes, 2 contacts, 4 progress notes, 1 psychotherapy notes\n")
    again = json.loads(ok(run("import", str(FIXTURE), "--as", "admin", "--json")))
    assert again["added"] == dict.fromkeys(again["added"], 0)
    assert again["skipped"]["progress_notes"] == 4 and again["dry_run"] is False

    listed = ok(run("note", "list", "--client", "H-2015", "--as", "dr-lee"))
    assert "author dr-lee\twritten 2015-02-03 (original, imported; recorded 20" in listed
    notes = json.loads(ok(run("note", "list", "--client", "H-2015", "--as", "dr-lee",
                              "--json")))
    first = next(n for n in notes if n["original_written_on"] == "2015-02-03")
    shown = ok(run("note", "show", first["note_id"], "--as", "dr-lee", "--purpose", "TREAT"))
    assert "author dr-lee  written 2015-02-03 (original, imported; recorded " in shown
    record_set = ok(run("record-set", "H-2015", "--as", "comp"))
    assert "by dr-lee (written 2015-02-03 in an earlier system, imported)" in record_set
    pn = ok(run("pn", "list", "--client", "H-2015", "--as", "dr-kim"))
    assert "author dr-kim\twritten 2017-03-06 (original, imported; recorded " in pn
    imports = json.loads(ok(run("access-log", "--as", "comp", "--staff", "admin", "--json")))
    assert sum(1 for r in imports if r["action"] == "import") == 6  # 3 runs (1 dry) x 2 stores
    assert {r["store"] for r in imports if r["action"] == "import"} == {"main",
                                                                        "psychotherapy"}


def test_a_note_written_here_shows_as_before(run) -> None:  # type: ignore[no-untyped-def]
    practice(run)
    ok(run("client", "add", "--id", "C-1", "--name", "N", "--dob", "1990-01-01", "--state",
           "CA", "--as", "dr-lee"))
    ok(run("note", "write", "--client", "C-1", "--as", "dr-lee", input="x\n"))
    listed = ok(run("note", "list", "--client", "C-1", "--as", "dr-lee"))
    assert "\twritten 20" in listed and "imported" not in listed


def test_bad_lines_are_one_line_each_and_nothing_is_written(
        run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    practice(run)
    bad = tmp_path / "bad.jsonl"
    good = FIXTURE.read_text(encoding="utf-8").splitlines()
    bad.write_text("\n".join([*good[:3], '{"type": "contact", "client_ref": "H-2015"}',
                              good[3].replace("2017-03-06", "2017-02-30"), *good[4:]]) + "\n",
                   encoding="utf-8")
    r = run("import", str(bad), "--as", "admin")
    assert r.exit_code == 1
    assert r.stderr == ("error: line 4: date is required on a contact line\n"
                        "error: line 5: start must be a date like 2015-03-31\n"
                        "error: 2 bad lines in the file; nothing was imported\n")
    assert "Hana" not in r.stderr
    r = run("import", str(bad), "--as", "admin", "--json")
    assert r.exit_code == 1
    assert json.loads(r.stdout) == {"bad_lines": 2, "errors": [
        "line 4: date is required on a contact line",
        "line 5: start must be a date like 2015-03-31"]}
    log = json.loads(ok(run("access-log", "--as", "comp", "--staff", "admin", "--json")))
    assert [e for e in log if e["action"] == "import"] == []


def test_a_refused_import_exits_4_and_is_recorded(run) -> None:  # type: ignore[no-untyped-def]
    practice(run)
    r = run("import", str(FIXTURE), "--as", "dr-lee")
    assert r.exit_code == 4
    assert r.stderr == ("error: refused: role clinician may not import history (the attempt "
                        "was recorded)\n")
    denied = json.loads(ok(run("access-log", "--as", "comp", "--outcome", "denied", "--json")))
    assert [(d["actor_id"], d["action"], d["object_type"]) for d in denied] == [
        ("dr-lee", "import", "history")]


def test_a_missing_file_and_a_missing_actor(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    practice(run)
    r = run("import", str(tmp_path / "none.jsonl"), "--as", "admin")
    assert r.exit_code == 1
    assert r.stderr.startswith("error: No such file or directory: ")
    r = run("import", str(FIXTURE))
    assert r.exit_code == 2
    assert r.stderr.startswith("error: Missing option '--as'")


def test_import_runs_only_in_local_mode(run) -> None:  # type: ignore[no-untyped-def]
    r = run("--server", "https://ledger.example", "import", str(FIXTURE))
    assert r.exit_code == 2
    assert r.stderr.startswith("error: ledger import runs only in local mode: it reads the "
                               "history file on this host; unset LEDGER_SERVER")
