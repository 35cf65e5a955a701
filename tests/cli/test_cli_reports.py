"""Compliance reports from the command line."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path

from ledger.bootstrap import open_ledger
from ledger.settings import load_settings
from tests.cli.test_cli import setup_practice
from tests.cli.test_cli_sealed import ok, practice
from tests.conftest import PN_ASSERTION, record_unchecked, release_file


def test_record_set_now_and_in_the_past(run) -> None:  # type: ignore[no-untyped-def]
    note_id, pn_id = practice(run)
    ok(run("note", "amend", note_id, "--as", "dr-lee", "--reason", "typo", input="second\n"))
    text = ok(run("record-set", "C-1", "--as", "comp"))
    assert text.startswith("Designated record set as of ")
    assert "version 2" in text and "second" in text and "(amended: typo)" in text
    assert "she spoke of her father" not in text  # never a psychotherapy note
    past = json.loads(ok(run("record-set", "C-1", "--as", "comp", "--as-of", "2000-01-01",
                             "--json")))
    assert past["notes"] == [] and past["as_of"].startswith("2000-01-01T23:59:59")
    r = run("record-set", "C-1", "--as", "bill")
    assert r.exit_code == 4
    assert r.stderr == ("error: refused: role billing may not read notes for purpose "
                        "HOPERAT (the attempt was recorded)\n")
    today = datetime.now(UTC).date().isoformat()
    assert "version 2" in ok(run("record-set", "C-1", "--as", "comp", "--as-of", today))
    bad = run("record-set", "C-1", "--as", "comp", "--as-of", "2026-13-01")
    assert bad.exit_code == 1 and bad.stderr.startswith("error: --as-of must be a date or ")
    assert pn_id


def test_export_access_request(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    practice(run)
    out = tmp_path / "request"
    summary = ok(run("export", "access-request", "C-1", "--as", "comp", "--out", str(out),
                     "--received", "2026-11-01"))
    assert "act by 2026-12-01 (45 CFR 164.524(b)(2))" in summary
    assert "to 2026-12-31 at the latest" in summary
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert sorted(p.name for p in out.iterdir()) == ["record-set.json", "record-set.txt"]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in out.iterdir())
    data = json.loads((out / "record-set.json").read_text(encoding="utf-8"))
    assert data["due_on"] == "2026-12-01"
    assert [n["current"]["text"] for n in data["record_set"]["notes"]] == ["first version\n"]
    again = run("export", "access-request", "C-1", "--as", "comp", "--out", str(out))
    assert again.exit_code == 1
    assert again.stderr == f"error: {out} already exists; give a new directory\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "request"]  # no staging
    log = json.loads(ok(run("access-log", "--as", "comp", "--client", "C-1", "--json")))
    assert ("export", "record-set", "PATRQT") in {
        (e["action"], e["object_type"], e["purpose"]) for e in log}


def test_accounting_letter_and_json(run) -> None:  # type: ignore[no-untyped-def]
    note_id, pn_id = practice(run)
    for _ in range(2):
        ok(run("disclose", "--client", "C-1", "--as", "comp", "--to", "County Coroner",
               "--recipient-type", "coroner", "--purpose", "PUBHLTH", "--note", note_id,
               "--exception", "CORONER_512g1", *PN_ASSERTION,
               "--recipient-address", "1 Main St"))
    ok(run("disclose", "--client", "C-1", "--as", "bill", "--to", "Acme Health Plan",
           "--recipient-type", "payer", "--purpose", "HPAYMT", "--note", note_id))
    ok(run("disclose", "--client", "C-1", "--as", "comp", "--to", "State Board",
           "--recipient-type", "oversight-agency", "--purpose", "HCOMPL", "--pn", pn_id,
           "--exception", "oversight_of_originator_512d", *PN_ASSERTION,
           "--out", release_file(run)))
    letter = ok(run("accounting", "C-1", "--as", "comp"))
    assert "to County Coroner, 1 Main St" in letter
    assert "Repeated: 2 disclosures to this recipient for this purpose" in letter
    assert "State Board" in letter and "Acme" not in letter
    assert f"   Basis stated: {PN_ASSERTION[1]}" in letter  # 164.528(b)(2)(iv)
    data = json.loads(ok(run("accounting", "C-1", "--as", "comp", "--json")))
    assert [(line["first"]["recipient"], line["count"]) for line in data["lines"]] == [
        ("County Coroner", 2), ("State Board", 1)]
    assert [line["first"]["store"] for line in data["lines"]] == ["main", "psychotherapy"]


def test_access_log_from_the_read_model_and_from_the_log_agree(run) -> None:  # type: ignore[no-untyped-def]
    note_id = setup_practice(run)
    ok(run("staff", "add", "--id", "comp", "--name", "C", "--role", "compliance", "--as",
           "admin"))
    run("note", "show", note_id, "--as", "bill", "--purpose", "TREAT")
    args = ("access-log", "--as", "comp", "--store", "main", "--outcome", "denied", "--json")
    indexed = json.loads(ok(run(*args)))
    logged = json.loads(ok(run(*args, "--from-log")))
    assert indexed == logged and len(indexed) == 1


def test_access_log_sorts_numbers_as_numbers(run) -> None:  # type: ignore[no-untyped-def]
    note_id, _ = practice(run)
    for _ in range(10):
        ok(run("note", "show", note_id, "--as", "dr-lee", "--purpose", "TREAT"))
    log = json.loads(ok(run("access-log", "--as", "comp", "--store", "main", "--sort",
                            "position", "--json")))
    positions = [e["position"] for e in log]
    assert positions == sorted(positions) and max(positions) >= 10


def test_accounting_of_an_unknown_client_is_not_found(run) -> None:  # type: ignore[no-untyped-def]
    practice(run)
    r = run("accounting", "C-999", "--as", "comp")
    assert r.exit_code == 1 and r.stderr == "error: client C-999 not found\n"


def test_projections_status_and_rebuild(run) -> None:  # type: ignore[no-untyped-def]
    setup_practice(run)
    status = json.loads(ok(run("projections", "status", "--json")))
    assert set(status) == {"access-main", "access-pn", "record-set", "retention-main",
                           "retention-pn", "merkle-main", "merkle-pn"}
    assert status["access-main"]["position"] == 0 and status["access-main"]["behind"] > 0
    r = run("projections", "rebuild", "access-main")
    assert r.exit_code == 0
    assert r.stdout.startswith("access-main: rebuilt from ")
    assert "rebuilding access-main" in r.stderr
    after = json.loads(ok(run("projections", "status", "--json")))
    assert after["access-main"]["behind"] == 0
    assert run("projections", "rebuild", "nope").exit_code == 2


def test_access_log_text_escapes_what_an_attempt_recorded(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    note_id = setup_practice(run)
    forged = "mallory\n2026-01-01T00:00:00+00:00\tmain\tadmin\tadmin"
    r = run("note", "show", note_id, "--as", forged, "--purpose", "TREAT")
    assert r.exit_code == 1  # a malformed id is refused at the edge, never recorded
    assert r.stderr == ("error: --as must be 1 to 64 letters, digits and . _ @ -, starting "
                        "with a letter or digit\n")
    # Data recorded before ids were validated may still hold one: it is escaped on output.
    with open_ledger(load_settings(str(tmp_path / "data"), environ={})) as lg:
        record_unchecked(lg.main, forged)
    text = ok(run("access-log", "--as", "admin", "--store", "main"))
    lines = text.splitlines()
    mine = [line for line in lines if line.split("\t")[2].startswith("mallory")]
    assert len(mine) == 1 and mine[0].split("\t")[2] == (
        "mallory\\n2026-01-01T00:00:00+00:00\\tmain\\tadmin\\tadmin")
    assert not any(line.startswith("2026-01-01T00:00:00+00:00") for line in lines)
