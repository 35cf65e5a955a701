"""The investigator's report: verified first, then every psychotherapy-note use,
disclosure, refusal and break-the-glass event, a conclusion, and proofs it rests on."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from ledger.integrity.checkpoint import parse_note
from ledger.keys.signing import load_public_key
from ledger.primitives import merkle
from ledger.services.investigation import NOTHING_RELEASED
from tests.cli.test_cli_sealed import ok, practice
from tests.conftest import PN_ASSERTION, release_file


def report(run, *args: str) -> dict:  # type: ignore[no-untyped-def, type-arg]
    r = run("investigate", "psychotherapy-releases", "--as", "comp", "--json", *args)
    assert r.exit_code in (0, 3), r.stderr
    return json.loads(r.output)  # type: ignore[no-any-return]


def test_nothing_released_beyond_the_originator(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    note_id, pn_id = practice(run)
    ok(run("pn", "show", pn_id, "--as", "dr-lee", "--purpose", "TREAT"))
    run("pn", "show", pn_id, "--as", "sup", "--purpose", "TREAT")  # refused
    run("disclose", "--client", "C-1", "--as", "comp", "--to", "Acme", "--recipient-type",
        "payer", "--purpose", "HPAYMT", "--pn", pn_id, "--out", release_file(run))  # refused
    ok(run("note", "show", note_id, "--as", "desk", "--purpose", "TREAT", "--break-glass",
           "--reason", "collapse"))
    ok(run("checkpoint"))
    got = report(run)
    assert got["verified"] is True and got["conclusion"] == NOTHING_RELEASED
    kinds = [(e["kind"], e["store"], e["action"]) for e in got["events"]]
    assert ("originator use", "psychotherapy", "access") in kinds
    assert ("refused", "psychotherapy", "access") in kinds
    assert ("refused", "psychotherapy", "disclose") in kinds
    assert ("break-glass", "main", "access") in kinds
    # Each event is provably in the signed tree its store's checkpoint commits to.
    public = load_public_key(tmp_path / "data" / "keys" / "checkpoint.pub")
    signed = {ev["store"]: parse_note(ev["checkpoint"], public) for ev in got["evidence"]}
    proved = 0
    for e in got["events"]:
        cp = signed[e["store"]]
        if e["position"] <= cp.size:
            assert merkle.verify_inclusion(bytes.fromhex(e["leaf"]), e["position"] - 1,
                                           cp.size, [bytes.fromhex(p) for p in e["proof"]],
                                           cp.root)
            proved += 1
    assert proved >= 4
    html_path = tmp_path / "report.html"
    text = ok(run("investigate", "psychotherapy-releases", "--as", "comp", "--html",
                  str(html_path)))
    assert f"Conclusion: {NOTHING_RELEASED}." in text
    assert "<h1>Releases of psychotherapy notes</h1>" in html_path.read_text(encoding="utf-8")


def test_releases_are_listed_with_their_basis(run) -> None:  # type: ignore[no-untyped-def]
    _, pn_id = practice(run)
    ok(run("pn", "show", pn_id, "--as", "sup", "--purpose", "TRAIN", "--exception",
           "SUPERVISED_TRAINING"))
    ok(run("disclose", "--client", "C-1", "--as", "comp", "--to", "County Coroner",
           "--recipient-type", "coroner", "--purpose", "PUBHLTH", "--pn", pn_id,
           "--exception", "CORONER_512g1", *PN_ASSERTION, "--out", release_file(run)))
    ok(run("checkpoint"))
    got = report(run)
    releases = [(e["actor"], e["action"], e["basis"]) for e in got["events"]
                if e["kind"] == "release"]
    assert releases == [
        ("sup", "access", "SUPERVISED_TRAINING (45 CFR 164.508(a)(2)(i)(B))"),
        ("comp", "disclose", "CORONER_512g1 (45 CFR 164.508(a)(2)(ii); 164.512(g)(1)); "
                             f"comp asserted: {PN_ASSERTION[1]}")]
    assert got["conclusion"].startswith("2 releases of psychotherapy notes")


def test_a_damaged_store_is_reported_first_and_nothing_is_concluded(
        run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    practice(run)
    ok(run("checkpoint"))
    db = sqlite3.connect(tmp_path / "data" / "psychotherapy.sqlite")
    db.execute("UPDATE psychotherapy_events SET topic = topic || 'X' WHERE id = 1")
    db.commit()
    db.close()
    r = run("investigate", "psychotherapy-releases", "--as", "comp")
    assert r.exit_code == 3
    lines = r.output.splitlines()
    assert lines[3].startswith("psychotherapy: VERIFICATION FAILED: chain DAMAGED at "
                               "position 1")
    assert "this report concludes nothing" in r.output and "Conclusion" not in r.output


def test_no_checkpoint_means_no_conclusion(run) -> None:  # type: ignore[no-untyped-def]
    practice(run)
    got = report(run)
    assert got["verified"] is False and got["conclusion"] is None
    assert {e["detail"] for e in got["evidence"]} == {
        "no signed checkpoint: run ledger checkpoint"}


@pytest.mark.parametrize("damage", ["truncate", "rewrite"])
def test_truncating_or_rewriting_after_a_checkpoint_is_caught(run, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                              damage: str) -> None:
    _, pn_id = practice(run)
    for _ in range(3):
        ok(run("pn", "show", pn_id, "--as", "dr-lee", "--purpose", "TREAT"))
    ok(run("checkpoint"))
    db = sqlite3.connect(tmp_path / "data" / "psychotherapy.sqlite")
    if damage == "truncate":  # the last two events and their chain rows disappear
        db.execute("DELETE FROM psychotherapy_chain WHERE position > "
                   "(SELECT max(position) - 2 FROM psychotherapy_chain)")
        db.execute("DELETE FROM psychotherapy_events WHERE id > "
                   "(SELECT max(notification_id) FROM psychotherapy_chain)")
        expected = "truncated"
    else:  # a leaf changed and the stored tree rebuilt to match: the signed root differs
        db.execute("UPDATE psychotherapy_chain SET leaf = zeroblob(32) WHERE position = 2")
        db.execute("DELETE FROM psychotherapy_merkle_nodes")
        db.execute("DELETE FROM psychotherapy_projection_tracking WHERE name = 'merkle'")
        expected = "DAMAGED"
    db.commit()
    db.close()
    r = run("investigate", "psychotherapy-releases", "--as", "comp")
    assert r.exit_code == 3
    assert "psychotherapy: VERIFICATION FAILED" in r.output and expected in r.output
    assert "this report concludes nothing" in r.output
