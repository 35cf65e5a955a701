"""The stored Merkle tree on SQLite and PostgreSQL: equal to the tree of all leaves, and
its proofs verify."""

from __future__ import annotations

from ledger.bootstrap import Ledger
from ledger.integrity.tree import StoredTree
from ledger.primitives import merkle
from tests.conftest import chain_leaves, grow, seed


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
