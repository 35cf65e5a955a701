"""The stored Merkle tree: integrated incrementally, equal to the tree of all leaves, and
its proofs verify; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from ledger.bootstrap import Ledger
from ledger.integrity.tree import StoredTree
from ledger.primitives import merkle
from ledger.stores.main import MainStore
from tests.conftest import AT, seed
from tests.test_disclosure_properties import open_memory_ledger


def chain_leaves(app: MainStore) -> list[bytes]:
    c = app.event_log.chain.c
    with app.engine.connect() as conn:
        return [bytes(r[0]) for r in conn.execute(select(c.leaf).order_by(c.position))]


def grow(lg: Ledger, n: int) -> None:
    note = lg.notes.write("C-1", "t", by="dr-lee", session_date=None, at=AT)
    for i in range(n):
        lg.notes.read(note, by="dr-lee", purpose="TREAT", version=None,
                      at=AT + timedelta(minutes=i))


def test_the_stored_tree_is_the_tree_of_the_chain_leaves(lg: Ledger) -> None:
    main = lg.main
    seed(lg)
    grow(lg, 30)
    tree = StoredTree(main.event_log)
    assert tree.behind() > 0
    tree.catch_up(batch=7)
    leaves = chain_leaves(main)
    assert tree.size() == len(leaves) and tree.behind() == 0
    memory = merkle.MemoryNodes(leaves)
    for size in range(1, len(leaves) + 1):
        assert tree.root(size) == merkle.root(memory, size)
    for position in (1, len(leaves) // 2, len(leaves)):
        proof = tree.inclusion(position)
        assert merkle.verify_inclusion(tree.leaf(position), position - 1, tree.size(), proof,
                                       tree.root())
    proof = tree.consistency(5, tree.size())
    assert merkle.verify_consistency(5, tree.size(), tree.root(5), tree.root(), proof)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(1, 9), min_size=1, max_size=6), st.integers(1, 5))
def test_integrating_in_any_steps_gives_the_same_nodes(steps: list[int], batch: int) -> None:
    lg = open_memory_ledger()
    main = lg.main
    try:
        seed(lg)
        note = lg.notes.write("C-1", "t", by="dr-lee", session_date=None, at=AT)
        tree = StoredTree(main.event_log)
        for k, step in enumerate(steps):
            for i in range(step):
                lg.notes.read(note, by="dr-lee", purpose="TREAT", version=None,
                              at=AT + timedelta(hours=k, minutes=i))
            tree.catch_up(batch=batch)
        incremental = tree.rows()
        tree.rebuild()
        assert tree.rows() == incremental
        assert tree.root() == merkle.root(merkle.MemoryNodes(chain_leaves(main)), tree.size())
    finally:
        lg.close()


def test_proofs_from_the_command_line(run) -> None:  # type: ignore[no-untyped-def]
    import json

    from tests.test_cli import setup_practice

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
