"""A store's Merkle tree over its chain leaves, kept in the store's database.

Level 0 is the chain table's ``leaf`` column (position p is leaf index p - 1). Every
complete interior node is stored once, when the leaf that completes it is integrated, so
appending never rebuilds the tree: integrating leaf i writes at most log2(i) nodes. The
integrated size is a tracking row advanced in the same transaction as the nodes, under the
same conditional update as the projections, so a crash or a concurrent integrator never
writes a node twice or leaves a gap.
"""

from __future__ import annotations

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

from ledger.errors import IntegrityFailure
from ledger.primitives import merkle
from ledger.projections.base import Progress, Tracked
from ledger.stores.store import Store

BATCH = 2000


class StoredTree(Tracked):
    """Integrates chain leaves into stored Merkle nodes (a projection of the chain)."""

    name = "merkle"

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.chain = store.chained_recorder.chain

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
        return self._chain_size() - self.size()

    def count(self, after: int = 0) -> int:
        return max(0, self._chain_size() - after)

    def catch_up(self, *, batch: int = BATCH, progress: Progress | None = None) -> int:
        """Integrate every chain leaf not yet in the tree; returns how many."""
        added = 0
        while True:
            start = self.size()
            c = self.chain.c
            with self.store.engine.connect() as conn:
                rows = conn.execute(select(c.position, c.leaf).where(c.position > start)
                                    .order_by(c.position).limit(batch)).all()
            if not rows:
                return added
            if int(rows[0][0]) != start + 1:
                raise IntegrityFailure(f"{self.store.settings.name}: chain position "
                                       f"{start + 1} is missing; run ledger verify")
            leaves = [bytes(r[1]) for r in rows]
            with self.store.engine.begin() as conn:
                if not self._advance(conn, start, start + len(leaves)):
                    continue  # another integrator did this batch; read again
                self._integrate(conn, start, leaves)
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
        with self.store.engine.connect() as conn:
            return self._node(conn, level, index)

    def _node(self, conn: Connection, level: int, index: int) -> bytes:
        if level == 0:
            found = conn.execute(select(self.chain.c.leaf).where(
                self.chain.c.position == index + 1)).scalar()
        else:
            n = self.nodes.c
            found = conn.execute(select(n.hash).where(n.level == level, n.idx == index)).scalar()
        if found is None:
            raise IntegrityFailure(f"{self.store.settings.name}: Merkle node {level}/{index} "
                                   "is missing; run ledger verify")
        return bytes(found)

    def root(self, size: int | None = None) -> bytes:
        size = self.size() if size is None else size
        return merkle.root(self, size)

    def inclusion(self, position: int, size: int | None = None) -> list[bytes]:
        return merkle.inclusion_proof(self, position - 1, self.size() if size is None else size)

    def consistency(self, old: int, new: int) -> list[bytes]:
        return merkle.consistency_proof(self, old, new)

    def positions_of(self, notification_ids: list[int]) -> dict[int, int]:
        """The log position of each notification id (ids may skip; positions never do)."""
        c = self.chain.c
        found: dict[int, int] = {}
        with self.store.engine.connect() as conn:
            for i in range(0, len(notification_ids), 500):
                rows = conn.execute(select(c.notification_id, c.position).where(
                    c.notification_id.in_(notification_ids[i:i + 500])))
                found.update({int(n): int(p) for n, p in rows})
        return found

    def leaf(self, position: int) -> bytes:
        return self.node(0, position - 1)

    def _chain_size(self) -> int:
        with self.store.engine.connect() as conn:
            found = conn.execute(select(self.chain.c.position).order_by(
                self.chain.c.position.desc()).limit(1)).scalar()
        return int(found or 0)

    def rows(self) -> list[tuple[object, ...]]:
        with self.store.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(
                select(self.nodes).order_by(self.nodes.c.level, self.nodes.c.idx))]
