"""ledger init never makes a key next to data it could not open, and never replaces a
public key that checkpoints were signed with (issue 12, defect 4)."""

from __future__ import annotations

from pathlib import Path

from tests.cli.test_cli_sealed import ok, practice


def test_a_missing_signing_key_is_restored_not_replaced(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    practice(run)
    ok(run("checkpoint"))
    keys = tmp_path / "data" / "keys"
    public = (keys / "checkpoint.pub").read_bytes()
    (keys / "checkpoint.key").unlink()
    r = run("init")
    assert r.exit_code == 1
    assert r.stderr == (f"error: the checkpoint signing key {keys / 'checkpoint.key'} is "
                        f"missing but checkpoints were signed with it ({keys / 'checkpoint.pub'}"
                        f" or notes in {tmp_path / 'data' / 'checkpoints'}): restore it from "
                        "your key backup; a new key would make every later checkpoint fail, "
                        "so none is made\n")
    assert not (keys / "checkpoint.key").exists()
    assert (keys / "checkpoint.pub").read_bytes() == public


def test_a_missing_kek_next_to_data_is_refused(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    practice(run)
    kek = tmp_path / "data" / "keys" / "main.kek"
    kek.unlink()
    r = run("staff", "list")
    assert r.exit_code != 0
    assert "if the store holds data, restore the key from your backup (or set LEDGER_KEK)" \
        in r.stderr
    r = run("init")
    assert r.exit_code == 1
    assert r.stderr == (f"error: the main store already holds data but its key-encryption "
                        f"key {kek} is missing: restore that file (0600) from your key "
                        "backup, or set LEDGER_KEK; a new key could not open the data, so "
                        "none is made\n")
    assert not kek.exists()


def test_init_on_a_new_or_complete_installation_still_works(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    first = ok(run("init"))
    assert "created checkpoint signing key" in first
    again = ok(run("init"))
    assert "kept existing checkpoint signing key" in again
    # A new store beside the others (its key and database both gone) is made afresh.
    (tmp_path / "data" / "keys" / "psychotherapy.kek").unlink()
    (tmp_path / "data" / "psychotherapy.sqlite").unlink()
    assert "created key-encryption key for the psychotherapy store" in ok(run("init"))
