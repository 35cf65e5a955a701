"""The sealed store, authorizations, disclosures and break-the-glass from the command line."""

from __future__ import annotations

import json
import sqlite3
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import Result

from tests.cli.test_cli import setup_practice


def ok(result: Result) -> str:
    assert result.exit_code == 0, (result.output, result.stderr)
    return result.output


def practice(run) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    note_id = setup_practice(run)
    for staff_id, role in [("comp", "compliance"), ("sup", "supervisor")]:
        ok(run("staff", "add", "--id", staff_id, "--name", staff_id, "--role", role,
               "--as", "admin"))
    pn_id = ok(run("pn", "write", "--client", "C-1", "--as", "dr-lee",
                   input="she spoke of her father\n")).strip()
    return note_id, pn_id


def test_pn_write_show_list_and_refusals(run) -> None:  # type: ignore[no-untyped-def]
    _, pn_id = practice(run)
    assert "she spoke of her father" in ok(run("pn", "show", pn_id, "--as", "dr-lee",
                                               "--purpose", "TREAT"))
    r = run("pn", "show", pn_id, "--as", "sup", "--purpose", "TREAT")
    assert r.exit_code == 4 and "father" not in r.output
    assert r.stderr == ("error: refused: only the originating clinician reads a psychotherapy "
                        "note for treatment; anyone else needs a psychotherapy-note "
                        "authorization or a 164.508(a)(2) exception (the attempt was "
                        "recorded)\n")
    shown = json.loads(ok(run("pn", "show", pn_id, "--as", "sup", "--purpose", "train",
                              "--exception", "supervised_training", "--json")))
    assert shown["text"] == "she spoke of her father\n"
    r = run("pn", "show", pn_id, "--as", "dr-lee", "--purpose", "TREAT", "--break-glass",
            "--reason", "crisis")
    assert r.exit_code == 4
    assert r.stderr.startswith("error: refused: break-the-glass never opens a psychotherapy")
    ok(run("pn", "amend", pn_id, "--as", "dr-lee", "--reason", "detail", input="v2\n"))
    listed = json.loads(ok(run("pn", "list", "--client", "C-1", "--as", "dr-lee", "--json")))
    assert [(n["note_id"], n["versions"]) for n in listed] == [(pn_id, 2)]
    denied = json.loads(ok(run("access-log", "--as", "comp", "--store", "pn", "--outcome",
                               "denied", "--json")))
    assert [(d["actor_id"], d["action"], d["object_id"]) for d in denied] == [
        ("sup", "access", pn_id), ("dr-lee", "access", pn_id)]
    assert all(d["store"] == "psychotherapy" for d in denied)


def test_authorize_and_disclose_a_pn(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, pn_id = practice(run)
    grant = ["authorize", "grant", "--client", "C-1", "--as", "comp", "--recipient",
             "Dr. Ray Park", "--recipient-type", "provider", "--purpose",
             "continuity of care", "--signed-by", "Jane Roe", "--expires", "2099-12-31"]
    r = run(*grant, "--scope", "psychotherapy-notes", "--scope", "progress-notes")
    assert r.exit_code == 4
    assert r.stderr == ("error: refused: a psychotherapy-note authorization may not be "
                        "combined with any other authorization (45 CFR 164.508(b)(3)(ii)) "
                        "(the attempt was recorded)\n")
    auth = json.loads(ok(run(*grant, "--scope", "psychotherapy-notes", "--json")))
    assert auth["status"] == "valid" and auth["scopes"] == ["psychotherapy-notes"]
    auth_id = auth["authorization_id"]

    payer = run("disclose", "--client", "C-1", "--as", "comp", "--to", "Acme Health Plan",
                "--recipient-type", "payer", "--purpose", "HPAYMT", "--pn", pn_id,
                "--authorization", auth_id, "--out", str(tmp_path / "payer.json"))
    assert payer.exit_code == 4 and "father" not in payer.output
    assert not (tmp_path / "payer.json").exists()  # made before, removed on refusal
    assert payer.stderr == ("error: refused: a payer never receives a psychotherapy note, "
                            "whatever is presented (the attempt was recorded)\n")

    out = tmp_path / "release.json"
    disclose = ["disclose", "--client", "C-1", "--as", "comp", "--to", "Dr. Ray Park",
                "--recipient-type", "provider", "--purpose", "TREAT", "--pn", pn_id,
                "--authorization", auth_id]
    summary = ok(run(*disclose, "--out", str(out)))
    assert "granted under authorization (45 CFR 164.508(a)(2)); not accountable" in summary
    assert "father" not in summary
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    package = json.loads(out.read_text(encoding="utf-8"))
    assert package["notes"][0]["text"] == "she spoke of her father\n"

    # issue 12, defect 1: never onto the releaser's screen, JSON included.
    screen = run(*disclose, "--json")
    assert screen.exit_code == 1 and "father" not in screen.output
    assert screen.stderr == ("error: a psychotherapy note is released only into the "
                             "recipient's file: give --out FILE (its content is never shown "
                             "on the screen)\n")
    second = tmp_path / "second.json"
    summary_json = json.loads(ok(run(*disclose, "--out", str(second), "--json")))
    assert "notes" not in summary_json and summary_json["written"] is True
    assert summary_json["basis"] == "authorization" and "father" not in str(summary_json)

    again = run(*disclose, "--out", str(out))  # never overwrites, records nothing
    assert again.exit_code == 1 and again.stderr.startswith(f"error: cannot write {out}: ")

    today = datetime.now(UTC).date().isoformat()
    ok(run("authorize", "revoke", auth_id, "--as", "comp", "--received", today))
    revoked = run(*disclose, "--out", str(tmp_path / "revoked.json"))
    assert revoked.exit_code == 4 and "the authorization was revoked" in revoked.stderr
    listed = json.loads(ok(run("authorize", "list", "--client", "C-1", "--as", "comp",
                               "--json")))
    assert [(a["authorization_id"], a["status"]) for a in listed] == [(auth_id, "revoked")]
    log = json.loads(ok(run("access-log", "--as", "comp", "--store", "pn", "--json")))
    disclosures = [(e["outcome"], e["recipient_type"]) for e in log if e["action"] == "disclose"]
    assert disclosures == [("denied", "payer"), ("granted", "provider"),
                           ("granted", "provider"), ("denied", "provider")]


def test_progress_note_release_and_break_the_glass(run) -> None:  # type: ignore[no-untyped-def]
    note_id, pn_id = practice(run)
    released = ok(run("disclose", "--client", "C-1", "--as", "bill", "--to", "Acme Health Plan",
                      "--recipient-type", "payer", "--purpose", "HPAYMT", "--note", note_id))
    assert "granted under payment (45 CFR 164.506(c)); not accountable" in released
    assert "first version" in released
    as_json = json.loads(ok(run("disclose", "--client", "C-1", "--as", "bill", "--to",
                                "Acme Health Plan", "--recipient-type", "payer", "--purpose",
                                "HPAYMT", "--note", note_id, "--json")))
    assert [(n["note_id"], n["author_id"], n["text"]) for n in as_json["notes"]] == [
        (note_id, "dr-lee", "first version\n")]
    assert as_json["accountable"] is False
    both = run("disclose", "--client", "C-1", "--as", "comp", "--to", "X", "--recipient-type",
               "provider", "--purpose", "TREAT", "--note", note_id, "--pn", pn_id)
    assert both.exit_code == 1
    assert both.stderr == ("error: name progress notes (--note) or psychotherapy notes "
                           "(--pn), not both and not neither\n")
    refused = run("note", "show", note_id, "--as", "desk", "--purpose", "TREAT")
    assert refused.exit_code == 4
    no_reason = run("note", "show", note_id, "--as", "desk", "--purpose", "TREAT",
                    "--break-glass")
    assert no_reason.exit_code == 1
    assert no_reason.stderr == "error: --break-glass needs --reason TEXT\n"
    shown = ok(run("note", "show", note_id, "--as", "desk", "--purpose", "TREAT",
                   "--break-glass", "--reason", "client collapsed in the waiting room"))
    assert "first version" in shown
    flagged = json.loads(ok(run("access-log", "--as", "comp", "--break-glass", "--json")))
    denied = run("access-log", "--as", "bill")
    assert denied.exit_code == 4
    assert denied.stderr == ("error: refused: role billing may not read the access log (the "
                             "attempt was recorded)\n")
    assert [(f["actor_id"], f["outcome"], f["reason"], f["store"]) for f in flagged] == [
        ("desk", "granted", "client collapsed in the waiting room", "main")]
    text = ok(run("access-log", "--as", "comp", "--break-glass"))
    assert "BREAK-GLASS" in text and len(text.splitlines()) == 1


def test_verify_names_the_damaged_store(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, pn_id = practice(run)
    assert ok(run("verify")).splitlines()[1].startswith("psychotherapy: intact, ")
    db = sqlite3.connect(tmp_path / "data" / "psychotherapy.sqlite")
    db.execute("UPDATE psychotherapy_events SET topic = topic || 'X' WHERE id = 1")
    db.commit()
    db.close()
    r = run("verify")
    assert r.exit_code == 3
    lines = r.output.splitlines()
    assert lines[0].startswith("main: intact, ")
    assert lines[1].startswith("psychotherapy: DAMAGED at position 1 ")
    assert pn_id


@pytest.mark.parametrize(("args", "message"), [
    (("authorize", "revoke", "00000000-0000-0000-0000-000000000000", "--as", "comp",
      "--received", "2026-01-01"),
     "error: authorization 00000000-0000-0000-0000-000000000000 not found\n"),
    (("authorize", "grant", "--client", "C-1", "--as", "comp", "--scope", "everything",
      "--recipient", "R", "--purpose", "p", "--signed-by", "S", "--expires", "2030-01-01"),
     "error: unknown scope 'everything'; use one of psychotherapy-notes, progress-notes, "
     "designated-record-set\n"),
    (("authorize", "grant", "--client", "C-1", "--as", "comp", "--scope", "progress-notes",
      "--recipient", "R", "--purpose", "p", "--signed-by", "S"),
     "error: give exactly one of --expires DATE or --expiry-event TEXT\n"),
    (("pn", "show", "nope", "--as", "dr-lee", "--purpose", "TREAT"),
     "error: PN must be an id like 3f2b...-....; got 'nope'\n"),
])
def test_bad_input_is_one_line(run, args: tuple[str, ...], message: str) -> None:  # type: ignore[no-untyped-def]
    practice(run)
    r = run(*args)
    assert r.exit_code == 1
    assert r.stderr == message


def stops_before_the_main_store(run, tmp_path: Path, sealed_id: str,  # type: ignore[no-untyped-def]
                                message: str) -> None:
    """Both progress-note commands refuse ``sealed_id`` with ``message`` (exit 1), and the
    main store gains no event naming it."""
    db = tmp_path / "data" / "main.sqlite"
    before = sqlite3.connect(db).execute("SELECT count(*) FROM ledger_events").fetchone()
    for args in (("note", "show", sealed_id, "--as", "dr-lee", "--purpose", "TREAT"),
                 ("disclose", "--client", "C-1", "--as", "comp", "--to", "X",
                  "--recipient-type", "provider", "--purpose", "TREAT", "--note", sealed_id)):
        r = run(*args)
        assert r.exit_code == 1
        assert r.stderr == f"error: {message}\n"
    after = sqlite3.connect(db).execute("SELECT count(*) FROM ledger_events").fetchone()
    assert before == after


def test_a_pn_id_given_to_a_progress_note_command_stops_before_the_main_store(
        run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, pn_id = practice(run)
    stops_before_the_main_store(run, tmp_path, pn_id, f"{pn_id} is a psychotherapy note; use "
                                "ledger pn show or ledger disclose --pn")


def test_a_sealed_authorization_id_given_as_a_note_stops_before_the_main_store(
        run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """An id from the sealed store that is not a note (a psychotherapy-note authorization)
    stops before the main store too."""
    practice(run)
    auth_id = json.loads(ok(run(
        "authorize", "grant", "--client", "C-1", "--as", "comp", "--recipient", "Dr. Ray Park",
        "--recipient-type", "provider", "--purpose", "continuity", "--signed-by", "Jane Roe",
        "--expires", "2099-12-31", "--scope", "psychotherapy-notes", "--json")))[
        "authorization_id"]
    stops_before_the_main_store(run, tmp_path, auth_id, f"{auth_id} is not a progress note "
                                "(it names a record in the psychotherapy store)")


def test_release_package_is_not_left_behind_on_refusal(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, pn_id = practice(run)
    out = tmp_path / "nope.json"
    r = run("disclose", "--client", "C-1", "--as", "bill", "--to", "Acme", "--recipient-type",
            "payer", "--purpose", "HPAYMT", "--pn", pn_id, "--out", str(out))
    assert r.exit_code == 4
    assert not out.exists()
    log = json.loads(ok(run("access-log", "--as", "comp", "--store", "pn", "--json")))
    assert [(e["action"], e["outcome"]) for e in log][-1] == ("disclose", "denied")
