"""Proofs and signed checkpoints from the command line: inclusion and consistency proofs
that verify, against the store or a checkpoint checked with the public key."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from ledger.primitives import merkle
from ledger.primitives.crypto import new_signing_key, signing_public_key


def test_proofs_from_the_command_line(run) -> None:  # type: ignore[no-untyped-def]
    from tests.cli.test_cli import setup_practice

    note_id = setup_practice(run)
    for _ in range(5):
        run("note", "show", note_id, "--as", "dr-lee", "--purpose", "TREAT")
    r = run("proof", "inclusion", "3", "--json")
    assert r.exit_code == 0, r.stderr
    got = json.loads(r.output)
    assert got["verified"] is True and got["position"] == 3
    assert merkle.verify_inclusion(bytes.fromhex(got["leaf"]), 2, got["size"],
                                   [bytes.fromhex(p) for p in got["proof"]],
                                   bytes.fromhex(got["root"]))
    c = json.loads(run("proof", "consistency", "2", str(got["size"]), "--json").output)
    assert merkle.verify_consistency(2, got["size"], bytes.fromhex(c["old_root"]),
                                     bytes.fromhex(c["new_root"]),
                                     [bytes.fromhex(p) for p in c["proof"]])
    bad = run("proof", "inclusion", "999")
    assert bad.exit_code == 1 and bad.stderr.startswith("error: position 999 and size ")


def test_checkpoint_and_proof_from_the_command_line(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.cli.test_cli import setup_practice

    setup_practice(run)
    out = tmp_path / "exported"
    r = run("checkpoint", "--out", str(out), "--json")
    assert r.exit_code == 0, r.stderr
    made = json.loads(r.output)
    main_file = next(m["file"] for m in made if m["origin"] == "ledger/main")
    proof = json.loads(run("proof", "inclusion", "1", "--checkpoint", main_file,
                           "--json").output)
    assert proof["verified"] and proof["checkpoint"] == "ledger/main"
    assert proof["size"] == next(m["size"] for m in made if m["origin"] == "ledger/main")
    stranger = tmp_path / "stranger.pub"
    stranger.write_text(base64.b64encode(signing_public_key(new_signing_key())).decode())
    forged = run("proof", "inclusion", "1", "--checkpoint", main_file, "--public-key",
                 str(stranger))
    assert forged.exit_code == 3
    assert forged.stderr == ("error: checkpoint for ledger/main: no valid signature by this "
                             "key\n")
