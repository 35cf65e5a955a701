"""RFC 9162 Merkle hashing and proofs: the published RFC 6962 vectors, and a naive
recursive twin over many tree sizes (hypothesis)."""

from __future__ import annotations

from hashlib import sha256

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.primitives import merkle
from ledger.primitives.merkle import MemoryNodes

# RFC 6962 test vectors as published by transparency-dev/merkle (testonly), as data.
DATA = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243",
                                   "5051525354555657", "606162636465666768696a6b6c6d6e6f")]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION = [
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]
CONSISTENCY = [
    (2, 8, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
]
LEAVES = [merkle.hash_leaf(d) for d in DATA]


def test_the_published_roots() -> None:
    nodes = MemoryNodes(LEAVES)
    assert [merkle.root(nodes, n).hex() for n in range(9)] == ROOTS


def test_the_published_proofs() -> None:
    nodes = MemoryNodes(LEAVES)
    for index, size, proof in INCLUSION:
        assert [p.hex() for p in merkle.inclusion_proof(nodes, index, size)] == proof
        assert merkle.verify_inclusion(LEAVES[index], index, size,
                                       [bytes.fromhex(p) for p in proof],
                                       bytes.fromhex(ROOTS[size]))
    for old, new, proof in CONSISTENCY:
        assert [p.hex() for p in merkle.consistency_proof(nodes, old, new)] == proof
        assert merkle.verify_consistency(old, new, bytes.fromhex(ROOTS[old]),
                                         bytes.fromhex(ROOTS[new]),
                                         [bytes.fromhex(p) for p in proof])


# ----- a naive twin: the RFC's recursive definitions, word for word -------------------------


def naive_root(leaves: list[bytes]) -> bytes:
    if not leaves:
        return sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return sha256(b"\x01" + naive_root(leaves[:k]) + naive_root(leaves[k:])).digest()


def naive_path(m: int, leaves: list[bytes]) -> list[bytes]:
    if len(leaves) == 1:
        return []
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    if m < k:
        return [*naive_path(m, leaves[:k]), naive_root(leaves[k:])]
    return [*naive_path(m - k, leaves[k:]), naive_root(leaves[:k])]


def naive_subproof(m: int, leaves: list[bytes], complete: bool) -> list[bytes]:
    if m == len(leaves):
        return [] if complete else [naive_root(leaves)]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    if m <= k:
        return [*naive_subproof(m, leaves[:k], complete), naive_root(leaves[k:])]
    return [*naive_subproof(m - k, leaves[k:], False), naive_root(leaves[:k])]


def leaves_of(n: int) -> list[bytes]:
    return [merkle.hash_leaf(i.to_bytes(4, "big")) for i in range(n)]


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 300), st.data())
def test_proofs_equal_the_naive_twin_and_verify(n: int, data: st.DataObject) -> None:
    leaves = leaves_of(n)
    nodes = MemoryNodes(leaves)
    assert merkle.root(nodes, n) == naive_root(leaves)
    index = data.draw(st.integers(0, n - 1))
    path = merkle.inclusion_proof(nodes, index, n)
    assert path == naive_path(index, leaves)
    assert len(path) <= n.bit_length()
    assert merkle.verify_inclusion(leaves[index], index, n, path, naive_root(leaves))
    old = data.draw(st.integers(1, n))
    proof = merkle.consistency_proof(nodes, old, n)
    assert proof == naive_subproof(old, leaves, True)
    assert merkle.verify_consistency(old, n, naive_root(leaves[:old]), naive_root(leaves),
                                     proof)


@settings(max_examples=200, deadline=None)
@given(st.integers(2, 200), st.data())
def test_a_wrong_leaf_root_or_proof_is_rejected(n: int, data: st.DataObject) -> None:
    leaves = leaves_of(n)
    nodes = MemoryNodes(leaves)
    r = merkle.root(nodes, n)
    index = data.draw(st.integers(0, n - 1))
    path = merkle.inclusion_proof(nodes, index, n)
    other = (index + data.draw(st.integers(1, n - 1))) % n
    assert not merkle.verify_inclusion(leaves[other], index, n, path, r)
    assert not merkle.verify_inclusion(leaves[index], index, n, path, merkle.hash_leaf(b"x"))
    if path:
        bent = [*path[:-1], merkle.hash_leaf(b"bent")]
        assert not merkle.verify_inclusion(leaves[index], index, n, bent, r)
    old = data.draw(st.integers(1, n - 1))
    proof = merkle.consistency_proof(nodes, old, n)
    assert not merkle.verify_consistency(old, n, merkle.hash_leaf(b"forged"), r, proof)
    forged_new = merkle.root(MemoryNodes([*leaves[:-1], merkle.hash_leaf(b"z")]), n)
    assert not merkle.verify_consistency(old, n, merkle.root(nodes, old), forged_new, proof)


@given(st.integers(min_value=0, max_value=300), st.integers(min_value=0, max_value=300))
@settings(max_examples=150, deadline=None)
def test_a_streaming_frontier_gives_the_rfc_root_and_resumes_from_its_nodes(
        size: int, more: int) -> None:
    leaves = [sha256(i.to_bytes(4, "big")).digest() for i in range(size + more)]
    nodes = MemoryNodes(leaves)
    frontier = merkle.Frontier()
    for leaf in leaves[:size]:
        frontier.push(leaf)
    assert frontier.root() == merkle.root(nodes, size)
    # Seeded from the stored subtrees at ``size`` (what a checkpoint resumes from).
    blocks = merkle.Frontier.blocks(size)
    resumed = merkle.Frontier(size, [nodes.node(level, index) for level, index in blocks])
    assert resumed.nodes == frontier.nodes
    for leaf in leaves[size:]:
        resumed.push(leaf)
    assert resumed.root() == merkle.root(nodes, size + more)


def test_a_frontier_needs_one_node_per_set_bit() -> None:
    with pytest.raises(ValueError, match=r"^a frontier of size 5 has 2 nodes$"):
        merkle.Frontier(5, [bytes(32)])
    assert merkle.Frontier.blocks(6) == [(2, 0), (1, 2)]
    assert merkle.Frontier().root() == merkle.EMPTY_ROOT
