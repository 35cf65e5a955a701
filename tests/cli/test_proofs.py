"""Proofs from the command line: inclusion and consistency proofs against the store's latest
signed checkpoint (read from its exported file, signature checked) or a checkpoint given;
nothing handed out rests on the database's caches alone."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from ledger import settings as settings_module
from ledger.integrity.checkpoint import fingerprint
from ledger.keys.signing import key_paths, load_public_key
from ledger.primitives import merkle
from ledger.primitives.crypto import new_signing_key, signing_public_key
from tests.cli.test_cli import setup_practice


def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def origin(tmp_path: Path, store: str) -> str:
    public = load_public_key(key_paths(data_dir(tmp_path) / "keys")[1])
    return f"ledger/{fingerprint(public)}/{store}"


def practice(run, reads: int = 5) -> str:  # type: ignore[no-untyped-def]
    note_id = setup_practice(run)
    for _ in range(reads):
        run("note", "show", note_id, "--as", "dr-lee", "--purpose", "TREAT")
    return note_id


def main_sql(tmp_path: Path, statement: str, **params: object) -> None:
    """Raw SQL on the main store, as someone with database access would."""
    settings = settings_module.load_settings(str(data_dir(tmp_path)), environ={})
    engine = sa.create_engine(settings.main.url)
    with engine.begin() as conn:
        conn.execute(sa.text(statement), params)
    engine.dispose()


def leaves(tmp_path: Path) -> list[bytes]:
    settings = settings_module.load_settings(str(data_dir(tmp_path)), environ={})
    engine = sa.create_engine(settings.main.url)
    with engine.connect() as conn:
        found = [bytes(r[0]) for r in conn.execute(
            sa.text("SELECT leaf FROM ledger_chain ORDER BY position"))]
    engine.dispose()
    return found


def test_proofs_are_against_the_latest_signed_checkpoint(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    note_id = practice(run)
    none = run("proof", "inclusion", "3")
    assert none.exit_code == 1
    assert none.stderr == ("error: the main store has no checkpoint yet; run ledger "
                           "checkpoint first\n")
    assert run("checkpoint").exit_code == 0
    run("note", "show", note_id, "--as", "dr-lee", "--purpose", "TREAT")  # after it
    r = run("proof", "inclusion", "3", "--json")
    assert r.exit_code == 0, r.stderr
    got = json.loads(r.output)
    signed = len(leaves(tmp_path)) - 1  # the read after the checkpoint is not signed yet
    assert got["verified"] is True and got["position"] == 3 and got["size"] == signed
    assert got["checkpoint"] == origin(tmp_path, "main")
    assert bytes.fromhex(got["root"]) == merkle.root(
        merkle.MemoryNodes(leaves(tmp_path)), signed)
    assert merkle.verify_inclusion(bytes.fromhex(got["leaf"]), 2, got["size"],
                                   [bytes.fromhex(p) for p in got["proof"]],
                                   bytes.fromhex(got["root"]))
    text = run("proof", "inclusion", "3").output
    assert text.startswith(f"main: position 3 is in the tree of size {signed}, root ")
    smaller = json.loads(run("proof", "inclusion", "3", "--size", "5", "--json").output)
    assert smaller["size"] == 5
    assert bytes.fromhex(smaller["root"]) == merkle.root(merkle.MemoryNodes(leaves(tmp_path)), 5)
    c = json.loads(run("proof", "consistency", "2", str(signed), "--json").output)
    assert bytes.fromhex(c["new_root"]) == bytes.fromhex(got["root"])
    assert merkle.verify_consistency(2, signed, bytes.fromhex(c["old_root"]),
                                     bytes.fromhex(c["new_root"]),
                                     [bytes.fromhex(p) for p in c["proof"]])
    later = run("proof", "inclusion", str(signed + 1))
    assert later.exit_code == 1
    assert later.stderr == (f"error: position {signed + 1} is after the latest signed "
                            f"checkpoint (size {signed}); run ledger checkpoint first\n")
    too_big = run("proof", "inclusion", "1", "--size", str(signed + 1))
    assert too_big.stderr == (f"error: size {signed + 1} is after the latest signed "
                              f"checkpoint (size {signed}); run ledger checkpoint first\n")
    outside = run("proof", "inclusion", "6", "--size", "5")
    assert outside.stderr == "error: position 6 is not in the tree of the first 5 events\n"
    beyond = run("proof", "consistency", "2", str(signed + 1))
    assert beyond.exit_code == 1
    assert beyond.stderr == (f"error: size {signed + 1} is after the latest signed "
                             f"checkpoint (size {signed}); run ledger checkpoint first\n")
    pn = run("proof", "inclusion", "1", "--store", "pn")
    assert pn.exit_code == 1 and "(size 0)" in pn.stderr


def test_a_proof_against_a_checkpoint_given(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    setup_practice(run)
    out = tmp_path / "exported"
    r = run("checkpoint", "--out", str(out), "--json")
    assert r.exit_code == 0, r.stderr
    made = {m["origin"]: m for m in json.loads(r.output)}
    main_origin, pn_origin = origin(tmp_path, "main"), origin(tmp_path, "psychotherapy")
    main_file = made[main_origin]["file"]
    proof = json.loads(run("proof", "inclusion", "1", "--checkpoint", main_file,
                           "--json").output)
    assert proof["verified"] and proof["checkpoint"] == main_origin
    assert proof["size"] == made[main_origin]["size"]
    wrong_store = run("proof", "inclusion", "1", "--checkpoint", made[pn_origin]["file"])
    assert wrong_store.exit_code == 1
    assert wrong_store.stderr == (f"error: the checkpoint is for {pn_origin}, not the main "
                                  "store\n")
    stranger = tmp_path / "stranger.pub"
    stranger.write_text(base64.b64encode(signing_public_key(new_signing_key())).decode())
    forged = run("proof", "inclusion", "1", "--checkpoint", main_file, "--public-key",
                 str(stranger))
    assert forged.exit_code == 3
    assert forged.stderr == (f"error: checkpoint for {main_origin}: no valid signature by "
                             "this key\n")


# ----- an insider with database access ------------------------------------------------------

def test_edited_merkle_nodes_are_named_not_handed_out(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    practice(run)
    assert run("checkpoint").exit_code == 0
    size = len(leaves(tmp_path))
    assert run("proof", "inclusion", "3").exit_code == 0
    # The node over positions 1 and 2: a sibling in position 3's proof, and the root of
    # the tree of size 2.
    main_sql(tmp_path, "UPDATE ledger_merkle_nodes SET hash = :h WHERE level = 1 AND idx = 0",
             h=b"\x07" * 32)
    r = run("proof", "inclusion", "3")
    assert r.exit_code == 3 and r.stdout == ""
    assert r.stderr.startswith("error: main: the inclusion proof for position 3 made from the "
                               "Merkle tree cached in the database does not verify against "
                               f"the checkpoint of size {size} signed by key ")
    assert r.stderr.endswith("the cached nodes or the events were altered; run ledger verify\n")
    smaller = run("proof", "inclusion", "1", "--size", "2")
    assert smaller.exit_code == 3
    assert smaller.stderr.startswith("error: main: the Merkle tree cached in the database does "
                                     "not prove the tree of size 2 a prefix of the checkpoint "
                                     f"of size {size} ")
    consistency = run("proof", "consistency", "2", str(size))
    assert consistency.exit_code == 3
    assert "does not prove the tree of size 2 a prefix" in consistency.stderr
    assert run("proof", "inclusion", str(size)).exit_code == 0  # its proof does not use it


def test_an_edited_event_gets_no_proof(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    practice(run)
    assert run("checkpoint").exit_code == 0
    main_sql(tmp_path, "UPDATE ledger_events SET state = :s WHERE id = (SELECT notification_id "
             "FROM ledger_chain WHERE position = 4)", s=b"rewritten")
    r = run("proof", "inclusion", "4")
    assert r.exit_code == 3
    assert r.stderr == ("error: main: position 4: the stored event does not match its leaf "
                        "(edited); run ledger verify\n")


def test_the_checkpoint_table_is_not_what_proofs_rest_on(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    practice(run)
    assert run("checkpoint").exit_code == 0
    before = run("proof", "inclusion", "2", "--json").output
    main_sql(tmp_path, "UPDATE ledger_checkpoints SET size = 1, root = :r, note = 'forged'",
             r=b"\x07" * 32)
    assert run("proof", "inclusion", "2", "--json").output == before
    main_sql(tmp_path, "DELETE FROM ledger_checkpoints")
    assert run("proof", "inclusion", "2", "--json").output == before


@pytest.mark.parametrize("damage", ["edit", "remove"])
def test_an_exported_note_edited_or_removed_stops_proofs(run, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                         damage: str) -> None:
    practice(run)
    assert run("checkpoint").exit_code == 0
    (note,) = (data_dir(tmp_path) / "checkpoints" / "main").glob("*.note")
    if damage == "edit":
        lines = note.read_text(encoding="utf-8").split("\n")
        lines[1] = str(int(lines[1]) + 1)
        note.write_text("\n".join(lines), encoding="utf-8")
        r = run("proof", "inclusion", "1")
        assert r.exit_code == 3
        assert r.stderr == (f"error: {note}: checkpoint for {origin(tmp_path, 'main')}: no "
                            "valid signature by this key\n")
    else:
        note.unlink()
        r = run("proof", "inclusion", "1")
        assert r.exit_code == 3
        assert r.stderr.startswith("error: main: the database lists checkpoints but ")
