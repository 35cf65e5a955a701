"""RFC 9162 section 2.1 Merkle tree hashing and proofs, over a store's chain leaves.

The leaves are the chain's leaf hashes (SHA-256 of 0x00 || leaf data, ledger.primitives.chain);
interior nodes are SHA-256 of 0x01 || left || right; a tree of n leaves splits at the
largest power of two below n. Proofs are O(log n) hashes. ``Nodes`` answers the hash of
any complete aligned subtree; the in-memory version below computes and memoises them,
and a stored version can keep them as leaves are appended (no rebuild per append).

The code is small and ours (DESIGN.md, "Verifiability beyond a chain"); it is checked
against the RFC 6962 test vectors and against a naive recursive twin.
"""

from __future__ import annotations

from collections.abc import Sequence
from hashlib import sha256
from typing import Protocol

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = sha256(b"").digest()


class ProofError(ValueError):
    """A proof was asked for positions the tree does not have."""


def hash_leaf(data: bytes) -> bytes:
    return sha256(LEAF_PREFIX + data).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    return sha256(NODE_PREFIX + left + right).digest()


def split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


class Nodes(Protocol):
    def node(self, level: int, index: int) -> bytes:
        """The hash of the complete subtree of 2**level leaves starting at index*2**level."""
        ...


class MemoryNodes:
    """Nodes over a list of leaf hashes, memoised."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self.leaves = leaves
        self._cache: dict[tuple[int, int], bytes] = {}

    def node(self, level: int, index: int) -> bytes:
        if level == 0:
            return self.leaves[index]
        key = (level, index)
        found = self._cache.get(key)
        if found is None:
            found = hash_children(self.node(level - 1, 2 * index),
                                  self.node(level - 1, 2 * index + 1))
            self._cache[key] = found
        return found


class Frontier:
    """The right edge of a tree that grows one leaf at a time: one complete subtree per
    set bit of its size, largest first (O(log n) hashes). Pushing the leaves 0..n-1 and
    asking for the root gives MTH(D[0:n]) in one streaming pass."""

    def __init__(self, size: int = 0, nodes: Sequence[bytes] = ()) -> None:
        if len(nodes) != bin(size).count("1"):
            raise ValueError(f"a frontier of size {size} has {bin(size).count('1')} nodes")
        self.size = size
        self.nodes = list(nodes)

    @staticmethod
    def blocks(size: int) -> list[tuple[int, int]]:
        """The (level, index) of each of its subtrees for ``size`` leaves, largest first."""
        found, start = [], 0
        for level in range(size.bit_length() - 1, -1, -1):
            if size >> level & 1:
                found.append((level, start >> level))
                start += 1 << level
        return found

    def push(self, leaf: bytes) -> None:
        self.nodes.append(leaf)
        n = self.size
        while n & 1:
            right = self.nodes.pop()
            self.nodes[-1] = hash_children(self.nodes[-1], right)
            n >>= 1
        self.size += 1

    def root(self) -> bytes:
        if not self.nodes:
            return EMPTY_ROOT
        value = self.nodes[-1]
        for node in reversed(self.nodes[:-1]):
            value = hash_children(node, value)
        return value


def subtree(nodes: Nodes, start: int, end: int) -> bytes:
    """MTH(D[start:end]) for a range that starts on a boundary of its own split."""
    n = end - start
    if n == 0:
        return EMPTY_ROOT
    if n & (n - 1) == 0:  # a complete subtree
        level = n.bit_length() - 1
        return nodes.node(level, start >> level)
    k = split(n)
    return hash_children(subtree(nodes, start, start + k), subtree(nodes, start + k, end))


def root(nodes: Nodes, size: int) -> bytes:
    return subtree(nodes, 0, size)


def inclusion_proof(nodes: Nodes, index: int, size: int) -> list[bytes]:
    """PATH(index, D[0:size]) (RFC 9162 2.1.3.1)."""
    if not 0 <= index < size:
        raise ProofError(f"position {index + 1} is not in a tree of {size} leaves")
    proof: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = split(end - start)
        if index < start + k:
            proof.append(subtree(nodes, start + k, end))
            end = start + k
        else:
            proof.append(subtree(nodes, start, start + k))
            start += k
    return list(reversed(proof))


def consistency_proof(nodes: Nodes, old: int, new: int) -> list[bytes]:
    """PROOF(old, D[0:new]) (RFC 9162 2.1.4.1)."""
    if not 0 < old <= new:
        raise ProofError(f"no consistency proof from size {old} to size {new}")
    proof: list[bytes] = []
    start, end, complete = 0, new, True
    m = old
    while m != end - start:
        k = split(end - start)
        if m <= k:
            proof.append(subtree(nodes, start + k, end))
            end = start + k
        else:
            proof.append(subtree(nodes, start, start + k))
            start += k
            m -= k
            complete = False
    if not complete:
        proof.append(subtree(nodes, start, end))
    return list(reversed(proof))


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes],
                     expected_root: bytes) -> bool:
    """RFC 9162 2.1.3.2."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = hash_children(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = hash_children(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == expected_root


def verify_consistency(old: int, new: int, old_root: bytes, new_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """RFC 9162 2.1.4.2."""
    if not 0 < old <= new:
        return False
    if old == new:
        return not proof and old_root == new_root
    path = list(proof)
    if old & (old - 1) == 0:  # a power of two: the old root is the first node
        path.insert(0, old_root)
    if not path:
        return False
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = hash_children(c, fr)
            sr = hash_children(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = hash_children(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root
