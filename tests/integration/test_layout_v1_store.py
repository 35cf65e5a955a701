"""A store written by the previous code layout (commit 13b4140, flat ``ledger/``) still
opens, verifies and answers: no stored data migrates when modules move.

Its client ids are the legacy UUIDv5 ones (it predates the pseudonym secret): its events are
chained and cannot be rewritten, so it keeps them, and says so (issue 12, defect 5).

The fixture in ``tests/data/layout-v1/`` was written through the CLI by ``make.sh`` there;
its key-encryption keys and signing key are test keys for synthetic data, kept in
``fixture.json`` (never as key files) and written to a temporary data directory here.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, uuid5

import pytest
from click.testing import CliRunner, Result

from ledger.keys.pseudonyms import LEGACY_WARNING

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "layout-v1"


def _write_key(path: Path, value: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(value + "\n")


@pytest.fixture
def old_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict[str, Any]]:
    for var in ("LEDGER_URL", "LEDGER_PN_URL", "LEDGER_SCHEMA", "LEDGER_PN_SCHEMA", "LEDGER_KEK",
                "LEDGER_PN_KEK", "LEDGER_CONFIG", "LEDGER_KEK_FILE", "LEDGER_PN_KEK_FILE",
                "LEDGER_PSEUDONYM_KEY", "LEDGER_PSEUDONYM_FILE"):
        monkeypatch.delenv(var, raising=False)
    data = tmp_path / "data"
    shutil.copytree(FIXTURE, data, ignore=shutil.ignore_patterns("make.sh", "fixture.json"))
    meta = json.loads((FIXTURE / "fixture.json").read_text(encoding="utf-8"))
    keys = meta["keys"]
    _write_key(data / "keys" / "main.kek", keys["main_kek"])
    _write_key(data / "keys" / "psychotherapy.kek", keys["pn_kek"])
    _write_key(data / "keys" / "checkpoint.key", keys["checkpoint_signing_key"])
    shutil.copy(data / "checkpoint.pub", data / "keys" / "checkpoint.pub")
    return data, meta


def cli(data: Path, *args: str, input: str | None = None) -> Result:
    from cli.main import ledger

    return CliRunner().invoke(ledger, ["--data-dir", str(data), *args], input=input,
                              catch_exceptions=False)


def test_the_old_store_verifies_against_its_recorded_heads(
        old_store: tuple[Path, dict[str, Any]]) -> None:
    data, meta = old_store
    heads = {name: json.loads((data / "heads" / f"{name}.json").read_text())
             for name in ("main", "psychotherapy")}
    result = cli(data, "verify", "--json")
    assert result.exit_code == 0, result.output
    assert result.stderr == LEGACY_WARNING + "\n"
    reports = {r["store"]: r for r in json.loads(result.stdout)}
    assert reports["main"]["events"] == meta["main_events"]
    assert reports["psychotherapy"]["events"] == meta["pn_events"]
    for name, head in heads.items():  # checked against the recorded head, then moved on
        assert reports[name]["ok"] and reports[name]["head"]["position"] >= head["position"]


def test_the_old_store_reads_notes_and_reports(old_store: tuple[Path, dict[str, Any]]) -> None:
    data, meta = old_store
    ids = meta["ids"]
    shown = cli(data, "note", "show", ids["note"], "--as", "dr-lee", "--purpose", "TREAT",
                "--json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["text"] == "Fixture progress note one, amended.\n"
    first = cli(data, "note", "show", ids["note"], "--as", "dr-lee", "--purpose", "TREAT",
                "--version", "1", "--json")
    assert json.loads(first.output)["text"] == "Fixture progress note one.\n"
    pn = cli(data, "pn", "show", ids["pn"], "--as", "dr-lee", "--purpose", "TREAT", "--json")
    assert pn.exit_code == 0, pn.output
    assert json.loads(pn.output)["text"] == "Fixture psychotherapy note, amended.\n"
    record_set = cli(data, "record-set", "C-1", "--as", "comp", "--json")
    notes = json.loads(record_set.output)["notes"]
    assert [n["current"]["version"] for n in notes] == [2]
    letter = cli(data, "accounting", "C-1", "--as", "comp")
    assert "to County Coroner, 1 Main St" in letter.output
    assert "Acme Health Plan" not in letter.output  # payment: not accountable
    auths = cli(data, "authorize", "list", "--client", "C-1", "--as", "comp", "--json")
    status = {a["authorization_id"]: a["status"] for a in json.loads(auths.output)}
    assert status == {ids["pn_authorization"]: "revoked", ids["authorization"]: "expired"}
    staff = {s["staff_id"]: s for s in json.loads(cli(data, "staff", "list", "--json").output)}
    assert staff["sup"]["role"] == "supervisor"
    assert staff["gone"]["active"] is False


def test_the_old_store_keeps_its_audit_trail_and_tombstone(
        old_store: tuple[Path, dict[str, Any]]) -> None:
    data, meta = old_store
    log = json.loads(cli(data, "access-log", "--as", "comp", "--json").output)
    assert any(r["break_glass"] and r["actor_id"] == "desk" for r in log)
    assert any(r["outcome"] == "denied" and r["actor_id"] == "bill"
               and r["object_type"] == "psychotherapy-note" for r in log)
    from_log = json.loads(cli(data, "access-log", "--as", "comp", "--json", "--from-log").output)
    assert [(r["store"], r["position"]) for r in from_log[:len(log)]] == \
        [(r["store"], r["position"]) for r in log]
    plan = cli(data, "retention", "plan", "--as", "comp", "--json")
    statuses = sorted(s["status"] for s in json.loads(plan.output))
    assert statuses == ["destroyed", "no date"]
    holds = json.loads(cli(data, "hold", "list", "--as", "comp", "--json").output)
    assert [h["hold_id"] for h in holds] == [meta["ids"]["hold"]]
    assert holds[0]["release_reason"] == "fixture release"


def test_the_old_store_checkpoint_still_proves_and_extends(
        old_store: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    data, meta = old_store
    note = next((data / "checkpoints" / "main").glob("*.note"))
    proof = cli(data, "proof", "inclusion", "3", "--checkpoint", str(note), "--json")
    assert proof.exit_code == 0, proof.output
    assert json.loads(proof.output)["size"] == meta["main_checkpoint_size"]
    report = cli(data, "investigate", "psychotherapy-releases", "--as", "comp", "--json")
    assert report.exit_code == 0, report.output
    assert len([e for e in json.loads(report.output)["events"] if e["kind"] == "release"]) == 2
    assert cli(data, "checkpoint").exit_code == 0  # the new tree extends the old checkpoint
    bundle = tmp_path / "bundle"
    assert cli(data, "export", "bundle", "--out", str(bundle)).exit_code == 0
    verified = cli(data, "verify-bundle", str(bundle), "--public-key",
                   str(data / "keys" / "checkpoint.pub"), "--checkpoint", str(note))
    assert verified.exit_code == 0, verified.output


def test_the_old_store_keeps_its_legacy_client_ids(old_store: tuple[Path, dict[str, Any]]) -> None:
    data, _ = old_store
    legacy = str(uuid5(uuid5(NAMESPACE_URL, "urn:ledger:v1"), "client:C-1"))
    init = cli(data, "init")
    assert init.exit_code == 0, init.output
    assert init.stderr == LEGACY_WARNING + "\n"
    assert "pseudonym" not in init.stdout
    assert not (data / "keys" / "pseudonym.key").exists()  # a secret would orphan C-1
    note = cli(data, "note", "write", "--client", "C-1", "--as", "dr-lee", input="new\n")
    assert note.exit_code == 0, note.output
    log = json.loads(cli(data, "access-log", "--as", "comp", "--client", "C-1",
                         "--json").stdout)
    assert {r["client_id"] for r in log} == {legacy}
    assert note.stdout.strip() in {r["object_id"] for r in log}  # the new note, same id
    assert cli(data, "verify").exit_code == 0


def test_a_secret_put_beside_the_old_store_is_refused(old_store: tuple[Path, dict[str, Any]]
                                                      ) -> None:
    data, _ = old_store
    secret = data / "keys" / "pseudonym.key"
    _write_key(secret, "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY=")
    message = (f"error: the pseudonym secret {secret} is given, but the main store holds "
               "data and no record that its client ids are keyed: they were made with the "
               "legacy derivation (remove the secret to keep it), or the record was removed "
               "(restore the store from your backup)\n")
    for args in (("init",), ("record-set", "C-1", "--as", "comp")):
        r = cli(data, *args)
        assert (r.exit_code, r.stderr) == (1, message), args
