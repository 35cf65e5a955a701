"""verify-bundle's inclusion checker, which reuses the verified part of the previous
leaf's path, gives merkle.verify_inclusion's verdict on every proof (hypothesis): any
sequence of leaves in increasing order, each with its right proof or a damaged one."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.integrity.bundle import Inclusion
from ledger.primitives import merkle

DAMAGE = ["none", "none", "none", "sibling", "leaf", "index", "short", "long", "swap", "root"]


def leaves_of(n: int) -> list[bytes]:
    return [merkle.hash_leaf(i.to_bytes(4, "big")) for i in range(n)]


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 140), st.data())
def test_the_checker_agrees_with_verify_inclusion(n: int, data: st.DataObject) -> None:
    leaves = leaves_of(n)
    nodes = merkle.MemoryNodes(leaves)
    root = merkle.root(nodes, n)
    checker = Inclusion(n, root)
    indexes = sorted(data.draw(st.sets(st.integers(0, n - 1), min_size=1)))
    for index in indexes:
        leaf, path = leaves[index], merkle.inclusion_proof(nodes, index, n)
        damage = data.draw(st.sampled_from(DAMAGE))
        at = data.draw(st.integers(0, max(len(path) - 1, 0)))
        if damage == "sibling" and path:
            path[at] = merkle.hash_leaf(b"forged")
        elif damage == "leaf":
            leaf = leaves[(index + 1) % n] if n > 1 else merkle.hash_leaf(b"forged")
        elif damage == "short" and path:
            del path[at]
        elif damage == "long":
            path.insert(at, merkle.hash_leaf(b"extra"))
        elif damage == "swap" and len(path) > 1:
            path[0], path[-1] = path[-1], path[0]
        elif damage == "root":
            path = merkle.inclusion_proof(merkle.MemoryNodes([*leaves, leaves[0]]), index,
                                          n + 1)
        expected = merkle.verify_inclusion(leaf, index, n, path, root)
        assert checker.check(leaf, index, [p.hex() for p in path]) is expected, (index, damage)


def test_a_run_of_neighbours_is_checked_with_few_hashes(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    n = 1000
    leaves = leaves_of(n)
    nodes = merkle.MemoryNodes(leaves)
    checker = Inclusion(n, merkle.root(nodes, n))
    proofs = [[p.hex() for p in merkle.inclusion_proof(nodes, i, n)] for i in range(n)]
    calls = []
    real = merkle.hash_children

    def counted(left: bytes, right: bytes) -> bytes:
        calls.append(1)
        return real(left, right)

    monkeypatch.setattr(merkle, "hash_children", counted)
    assert all(checker.check(leaves[i], i, proofs[i]) for i in range(n))
    assert len(calls) < 4 * n  # a full check of each would take about 10 n
