"""Inclusion proofs made from the Merkle tree cached in the database, handed out only once
checked against a signed root.

Proofs are made an aligned block of 2**BLOCK_LEVEL leaves at a time: the block's nodes are
computed in memory from its (verified) leaves, the nodes above it are read once from the
cache, and one proof per full block is verified against the signed root (each proof where
a block is partial). Cached nodes that disagree are an IntegrityFailure naming the store
and the positions.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable

from ledger.errors import IntegrityFailure
from ledger.integrity.records import Checkpoint
from ledger.integrity.tree import StoredTree
from ledger.persistence.log import EventLog
from ledger.primitives import merkle

BLOCK_LEVEL = 12  # aligned blocks of 2**12 leaves, held in memory


class CachedNodes:
    """A store's Merkle nodes as cached in its database, each read once. Never trusted:
    what is made from them is checked against a signed root before it is handed out."""

    def __init__(self, tree: StoredTree) -> None:
        self.tree = tree
        self.read: dict[tuple[int, int], bytes] = {}

    def node(self, level: int, index: int) -> bytes:
        found = self.read.get((level, index))
        if found is None:
            found = self.read[(level, index)] = self.tree.node(level, index)
        return found


def anchored_root(nodes: merkle.Nodes, size: int, signed: Checkpoint) -> bytes | None:
    """The root of the first ``size`` leaves, taken from ``nodes`` only if a consistency
    proof from it to the signed root verifies (None if not)."""
    if size == signed.size:
        return signed.root
    root = merkle.root(nodes, size)
    proof = merkle.consistency_proof(nodes, size, signed.size)
    return root if merkle.verify_consistency(size, signed.size, root, signed.root,
                                             proof) else None


def not_proved(store: str, first: int, last: int, signed: Checkpoint) -> IntegrityFailure:
    where = f"position {first}" if first == last else f"positions {first} to {last}"
    return IntegrityFailure(
        f"{store}: the inclusion proof for {where} made from the Merkle tree cached in the "
        f"database does not verify against the {signed.describe()}: the cached nodes or the "
        "events were altered; run ledger verify")


class Block:
    """One aligned block of leaves, every complete subtree inside it computed in memory;
    nodes outside it come from ``outside``."""

    def __init__(self, start: int, leaves: list[bytes], outside: merkle.Nodes) -> None:
        self.start = start
        self.outside = outside
        self.levels = [leaves]
        while len(below := self.levels[-1]) > 1:
            self.levels.append([merkle.hash_children(below[i], below[i + 1])
                                for i in range(0, len(below) - 1, 2)])

    def node(self, level: int, index: int) -> bytes:
        offset = index - (self.start >> level)
        if level < len(self.levels) and 0 <= offset < len(self.levels[level]):
            return self.levels[level][offset]
        return self.outside.node(level, index)


def prover(store: str, block: Block, signed: Checkpoint) -> Callable[[int], list[str]]:
    """Inclusion proofs (hex) for the block's leaves in the signed tree, verified: a full
    block by one proof whose part above the block all its leaves share, whose part inside
    it was computed from the leaves; a partial block leaf by leaf."""
    height, start, size, leaves = BLOCK_LEVEL, block.start, signed.size, block.levels[0]
    if len(leaves) == 1 << height:
        first = merkle.inclusion_proof(block, start, size)
        if not merkle.verify_inclusion(leaves[0], start, size, first, signed.root):
            raise not_proved(store, start + 1, start + len(leaves), signed)
        above = [p.hex() for p in first[height:]]
        levels = block.levels

        def in_full_block(index: int) -> list[str]:
            offset = index - start
            return [levels[lv][(offset >> lv) ^ 1].hex() for lv in range(height)] + above
        return in_full_block

    def in_partial_block(index: int) -> list[str]:
        path = merkle.inclusion_proof(block, index, size)
        if not merkle.verify_inclusion(leaves[index - start], index, size, path, signed.root):
            raise not_proved(store, index + 1, index + 1, signed)
        return [p.hex() for p in path]
    return in_partial_block


def prove(log: EventLog, tree: StoredTree, positions: Iterable[int], signed: Checkpoint
          ) -> dict[int, tuple[list[str], bytes]]:
    """Checked inclusion proofs (hex) and leaves for ``positions`` (each within the signed
    size) in the signed tree, reading each block of leaves they fall in once."""
    nodes = CachedNodes(tree)
    found: dict[int, tuple[list[str], bytes]] = {}
    wanted = sorted(set(positions))
    for block, group in itertools.groupby(wanted, lambda p: (p - 1) >> BLOCK_LEVEL):
        start = block << BLOCK_LEVEL
        length = min(1 << BLOCK_LEVEL, signed.size - start)
        leaves = [leaf for _, leaf in log.leaves(start, length)]
        if len(leaves) != length:
            raise IntegrityFailure(f"{log.name}: positions {start + 1} to {start + length} "
                                   "are not all in the log; run ledger verify")
        make = prover(log.name, Block(start, leaves, nodes), signed)
        for position in group:
            found[position] = (make(position - 1), leaves[position - 1 - start])
    return found
