"""The stored Merkle tree: integrated incrementally, equal to the tree of all leaves, and
its proofs verify; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.integrity.tree import StoredTree
from ledger.primitives import merkle
from tests.conftest import AT, chain_leaves, open_memory_ledger, seed


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
