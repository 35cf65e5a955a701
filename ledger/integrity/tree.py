"""A store's Merkle tree over its chain leaves, kept in the store's database.

Level 0 is the chain table's ``leaf`` column (position p is leaf index p - 1). Every
complete interior node is stored once, when the leaf that completes it is integrated, so
appending never rebuilds the tree: integrating leaf i writes at most log2(i) nodes. The
integrated size is a tracking row advanced in the same transaction as the nodes, under the
same conditional update as the projections, so a crash or a concurrent integrator never
writes a node twice or leaves a gap.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    select,
)
from sqlalchemy.exc import IntegrityError as DBIntegrityError

from ledger.errors import IntegrityFailure
from ledger.persistence.log import EventLog
from ledger.persistence.tracking import Progress, Tracked
from ledger.primitives import merkle

BATCH = 2000


class StoredTree(Tracked):
    """Integrates chain leaves into stored Merkle nodes (a projection of the chain)."""

    name = "merkle"

    def __init__(self, log: EventLog) -> None:
        super().__init__(log)
        self.chain = log.chain

    def define(self, metadata: MetaData) -> list[Table]:
        self.nodes = Table(
            f"{self.prefix}merkle_nodes", metadata,
            Column("level", Integer, primary_key=True, autoincrement=False),
            Column("idx", BigInteger, primary_key=True, autoincrement=False),
            Column("hash", LargeBinary(32), nullable=False),
        )
        return [self.nodes]

    # ----- integration ------------------------------------------------------------------------

    def size(self) -> int:
        return self.position()

    def behind(self) -> int:
        return self.log.size() - self.size()

    def count(self, after: int = 0) -> int:
        return max(0, self.log.size() - after)

    def catch_up(self, *, batch: int | None = None, progress: Progress | None = None) -> int:
        """Integrate every chain leaf not yet in the tree; returns how many."""
        batch = batch or BATCH
        added = 0
        while True:
            start = self.size()
            rows = self.log.leaves(start, batch)
            if not rows:
                return added
            if rows[0][0] != start + 1:
                raise IntegrityFailure(f"{self.log.name}: chain position "
                                       f"{start + 1} is missing; run ledger verify")
            leaves = [leaf for _, leaf in rows]
            try:
                with self.log.engine.begin() as conn:
                    if not self.advance(conn, start, start + len(leaves)):
                        self.overtaken(start)
                        continue  # another integrator did this batch; read again
                    self._integrate(conn, start, leaves)
            except DBIntegrityError:
                raise self.moved_back(start) from None
            added += len(leaves)
            if progress is not None:
                progress(len(leaves))

    def _integrate(self, conn: Connection, start: int, leaves: list[bytes]) -> None:
        fresh: dict[tuple[int, int], bytes] = {}

        def node(level: int, index: int) -> bytes:
            if (level, index) in fresh:
                return fresh[(level, index)]
            if level == 0 and start <= index < start + len(leaves):
                return leaves[index - start]
            return self._node(conn, level, index)

        for i in range(start, start + len(leaves)):
            level, index = 0, i
            while index & 1:  # this leaf completes the subtree to its left
                left, right = node(level, index - 1), node(level, index)
                level, index = level + 1, index >> 1
                fresh[(level, index)] = merkle.hash_children(left, right)
        if fresh:
            conn.execute(self.nodes.insert(), [{"level": lv, "idx": ix, "hash": h}
                                               for (lv, ix), h in fresh.items()])

    # ----- reading ------------------------------------------------------------------------

    def node(self, level: int, index: int) -> bytes:
        with self.log.engine.connect() as conn:
            return self._node(conn, level, index)

    def read_nodes(self, wanted: list[tuple[int, int]]) -> list[bytes]:
        """Several nodes, (level, index) each, read over one connection."""
        with self.log.engine.connect() as conn:
            return [self._node(conn, level, index) for level, index in wanted]

    def _node(self, conn: Connection, level: int, index: int) -> bytes:
        if level == 0:
            found = conn.execute(select(self.chain.c.leaf).where(
                self.chain.c.position == index + 1)).scalar()
        else:
            n = self.nodes.c
            found = conn.execute(select(n.hash).where(n.level == level, n.idx == index)).scalar()
        if found is None:
            raise IntegrityFailure(f"{self.log.name}: Merkle node {level}/{index} "
                                   "is missing; run ledger verify")
        return bytes(found)

    def root(self, size: int | None = None) -> bytes:
        size = self.size() if size is None else size
        return merkle.root(self, size)

    def inclusion(self, position: int, size: int | None = None) -> list[bytes]:
        return merkle.inclusion_proof(self, position - 1, self.size() if size is None else size)

    def consistency(self, old: int, new: int) -> list[bytes]:
        return merkle.consistency_proof(self, old, new)

    def leaf(self, position: int) -> bytes:
        return self.node(0, position - 1)

    # ----- auditing the cache ---------------------------------------------------------------

    def check(self) -> tuple[int, int, str] | None:
        """The first stored node that is not what the leaves make, as (level, index, what),
        checked level by level upwards from the chain's leaves, streaming (O(page) memory);
        None if every node is right and none is extra."""
        size = self.size()
        level = 1
        while True:
            count = size >> level
            children = self._level(level - 1, count * 2)
            parents = self._level(level, None)
            for index in range(count):
                left, right = next(children)[1], next(children)[1]
                found = next(parents, None)
                if found is None or found[0] != index:
                    return level, index, "missing"
                if merkle.hash_children(left, right) != found[1]:
                    return level, index, "does not hash from its children"
            extra = next(parents, None)
            if extra is not None:
                return level, extra[0], "beyond the tree's size (inserted)"
            if count == 0:
                return None
            level += 1

    def _level(self, level: int, limit: int | None) -> Iterator[tuple[int, bytes]]:
        """(index, hash) of one level in index order (level 0: the chain's leaves)."""
        if level == 0:
            source = select(self.chain.c.position - 1, self.chain.c.leaf)
            index_column = self.chain.c.position - 1
        else:
            n = self.nodes.c
            source = select(n.idx, n.hash).where(n.level == level)
            index_column = n.idx
        last = -1
        while limit is None or last + 1 < limit:
            with self.log.engine.connect() as conn:
                rows = conn.execute(source.where(index_column > last)
                                    .order_by(index_column).limit(BATCH)).all()
            for index, value in rows:
                if limit is not None and index >= limit:
                    return
                yield int(index), bytes(value)
            if not rows:
                return
            last = int(rows[-1][0])

    def rows(self) -> list[tuple[object, ...]]:
        with self.log.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(
                select(self.nodes).order_by(self.nodes.c.level, self.nodes.c.idx))]
