"""ledger init never makes a key next to data it could not open, and never replaces a
public key that checkpoints were signed with (issue 12, defect 4)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.cli.test_cli_sealed import ok, practice

ROOT = Path(__file__).resolve().parents[2]


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


# ----- the pseudonym secret (issue 12, defect 5) -------------------------------------------


def test_a_keyed_store_without_its_pseudonym_secret_is_refused(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    practice(run)
    secret = tmp_path / "data" / "keys" / "pseudonym.key"
    secret.unlink()
    missing = (f"error: the main store's client ids are keyed by the pseudonym secret "
               f"{secret}, which is missing: restore that file (0600) from your key backup, "
               "or set LEDGER_PSEUDONYM_KEY")
    for args in (("client", "add", "--id", "C-2", "--name", "N", "--dob", "1990-01-01",
                  "--state", "CA", "--as", "desk"),
                 ("note", "list", "--client", "C-1", "--as", "dr-lee"),
                 ("access-log", "--as", "comp", "--client", "C-1")):
        r = run(*args)
        assert (r.exit_code, r.stderr) == (1, missing + "\n"), args
    # The same through a real process: one line, exit 1.
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    done = subprocess.run([sys.executable, "-m", "cli", "--data-dir", str(tmp_path / "data"),
                           "note", "list", "--client", "C-1", "--as", "dr-lee"],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
                          check=False)
    assert (done.returncode, done.stderr) == (1, missing + "\n")
    verified = run("verify")  # verifying names no client: it needs no secret
    assert (verified.exit_code, verified.stderr) == (0, "")
    r = run("init")
    assert (r.exit_code, r.stderr) == (1, missing + "; a new secret would orphan every client, "
                                       "so none is made\n")
    assert not secret.exists()


def test_a_wrong_pseudonym_secret_is_refused(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    practice(run)
    secret = tmp_path / "data" / "keys" / "pseudonym.key"
    secret.write_text("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY=\n", encoding="ascii")
    for args in (("note", "list", "--client", "C-1", "--as", "dr-lee"), ("init",)):
        r = run(*args)
        assert (r.exit_code, r.stderr) == (
            1, f"error: the pseudonym secret {secret} is not the one the main store's client "
               "ids were made with: restore the right one from your key backup\n"), args


def test_init_makes_the_pseudonym_secret_once_and_keeps_it(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import stat

    first = ok(run("init"))
    assert "created pseudonym secret" in first
    secret = tmp_path / "data" / "keys" / "pseudonym.key"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    before = secret.read_bytes()
    practice(run)
    again = run("init")
    assert (again.exit_code, again.stderr) == (0, "")  # keyed: no legacy warning
    assert "kept existing pseudonym secret" in again.stdout
    assert secret.read_bytes() == before
