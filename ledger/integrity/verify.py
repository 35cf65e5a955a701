"""Recompute a store's hash chain from what is stored and name the first damage.

The verifier walks the events table (by notification id) and the chain table (by
position) side by side, reading raw rows with SQLAlchemy Core in pages, and checks:

* every chain position 1..n is present, in order, with increasing notification ids;
* every event has a chain row and every chain row has its event;
* each event's recomputed leaf equals the stored leaf, and each chain value follows;
* optionally, that the store still reaches a head recorded earlier outside the database.

Damage kinds: ``edited``, ``missing``, ``inserted``, ``reordered``, ``truncated``,
``chain-altered``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, Table, select, type_coerce
from sqlalchemy.types import NullType

from ledger.primitives.chain import GENESIS, Head, chain_hash, leaf_hash
from ledger.primitives.ids import uuid_bytes

PAGE = 5000
KnownHead = Head  # a head recorded outside the database (position and chain value)


@dataclass(frozen=True)
class Damage:
    kind: str
    position: int
    notification_id: int | None
    detail: str

    def describe(self) -> str:
        where = f"position {self.position}"
        if self.notification_id is not None:
            where += f" (notification id {self.notification_id})"
        return f"{where}: {self.kind}: {self.detail}"


@dataclass(frozen=True)
class Report:
    store: str
    events: int
    head: KnownHead | None
    damage: Damage | None

    @property
    def ok(self) -> bool:
        return self.damage is None


@dataclass(frozen=True)
class _Event:
    id: int
    originator_id: bytes
    version: int
    topic: str
    state: bytes


@dataclass(frozen=True)
class _Link:
    position: int
    notification_id: int
    leaf: bytes
    chain: bytes


def _events(conn: Connection, table: Table) -> Iterator[_Event]:
    c = table.c
    last = None
    while True:
        # Raw originator ids (16 bytes on SQLite): skip the UUID type's per-row conversion.
        raw_id = type_coerce(c.originator_id, NullType())
        q = select(c.id, raw_id, c.originator_version, c.topic, c.state).order_by(c.id)
        if last is not None:
            q = q.where(c.id > last)
        rows = conn.execute(q.limit(PAGE)).all()
        if not rows:
            return
        for r in rows:
            yield _Event(int(r[0]), uuid_bytes(r[1]), int(r[2]), str(r[3]), bytes(r[4]))
        last = rows[-1][0]


def _links(conn: Connection, table: Table) -> Iterator[_Link]:
    c = table.c
    last = 0
    while True:
        q = select(c.position, c.notification_id, c.leaf, c.chain).where(c.position > last)
        rows = conn.execute(q.order_by(c.position).limit(PAGE)).all()
        if not rows:
            return
        for r in rows:
            yield _Link(int(r[0]), int(r[1]), bytes(r[2]), bytes(r[3]))
        last = rows[-1][0]


def verify_store(engine: Engine, events: Table, chain: Table, *, store: str,
                 known_head: KnownHead | None = None) -> Report:
    """Verify one store. Never raises for damage: the report names the first bad position."""
    with engine.connect() as conn:
        # One consistent snapshot for the whole walk, so concurrent writers cannot make an
        # intact store look damaged (a chain row read whose event was not yet visible).
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        elif engine.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN")  # WAL: a read snapshot that does not block writers
        walk = _walk(conn, events, chain, known_head.position if known_head else 0)
        damage = walk.damage
        if damage is None and known_head is not None:
            damage = _check_known_head(known_head, walk)
        if damage is not None and damage.kind == "edited" and walk.bad_event is not None:
            damage = _maybe_reordered(conn, chain, damage, walk.bad_event)
        if damage is not None and damage.kind == "inserted":
            damage = _maybe_moved_link(conn, chain, damage)
    return Report(store=store, events=walk.position, head=walk.head, damage=damage)


@dataclass
class _Walk:
    position: int = 0
    head: KnownHead | None = None
    damage: Damage | None = None
    bad_event: _Event | None = None
    value_at_known: bytes | None = None


def _walk(conn: Connection, events: Table, chain: Table, known_position: int) -> _Walk:
    walk = _Walk()
    event_iter, link_iter = _events(conn, events), _links(conn, chain)
    event, link = next(event_iter, None), next(link_iter, None)
    previous, last_nid = GENESIS, 0
    while event is not None or link is not None:
        expected = walk.position + 1
        if link is None:
            assert event is not None
            walk.damage = Damage("inserted", expected, event.id,
                                 "event has no chain record (appended outside the ledger)")
        elif link.position != expected:
            walk.damage = Damage("missing", expected, None,
                                 f"chain jumps from position {walk.position} to {link.position}")
        elif link.notification_id <= last_nid:
            walk.damage = Damage("reordered", expected, link.notification_id,
                                 "chain records are out of notification order")
        elif event is None or event.id > link.notification_id:
            walk.damage = Damage("missing", expected, link.notification_id,
                                 "event was removed from the store")
        elif event.id < link.notification_id:
            walk.damage = Damage("inserted", expected, event.id,
                                 "event has no chain record (inserted)")
        else:
            leaf = leaf_hash(event.id, event.originator_id, event.version, event.topic,
                             event.state)
            if leaf != link.leaf:
                walk.bad_event = event
                walk.damage = Damage("edited", expected, event.id,
                                     "stored event does not match its chain leaf")
            else:
                value = chain_hash(expected, previous, leaf)
                if value != link.chain:
                    walk.damage = Damage("chain-altered", expected, event.id,
                                         "chain value does not follow from the previous one")
        if walk.damage is not None:
            return walk
        assert link is not None and event is not None
        previous, walk.position, last_nid = link.chain, expected, event.id
        if expected == known_position:
            walk.value_at_known = previous
        event, link = next(event_iter, None), next(link_iter, None)
    walk.head = KnownHead(walk.position, previous) if walk.position else None
    return walk


def _check_known_head(known: KnownHead, walk: _Walk) -> Damage | None:
    if walk.position < known.position:
        return Damage("truncated", walk.position + 1, None,
                      f"store ends at position {walk.position} but a known head records "
                      f"position {known.position}")
    if walk.value_at_known != known.chain:
        return Damage("chain-altered", known.position, None,
                      "the chain was recomputed: it no longer passes through the known head")
    return None


def _maybe_moved_link(conn: Connection, chain: Table, damage: Damage) -> Damage:
    """An "unchained" event whose chain record sits at another position: records reordered."""
    c = chain.c
    elsewhere = conn.execute(
        select(c.position).where(c.notification_id == damage.notification_id)).scalar()
    if elsewhere is None:
        return damage
    return Damage("reordered", damage.position, damage.notification_id,
                  f"the event's chain record is at position {elsewhere}, out of order")


def _maybe_reordered(conn: Connection, chain: Table, damage: Damage, event: _Event) -> Damage:
    """An event whose content matches the leaf of another position was moved there from."""
    for link in _links(conn, chain):
        if link.notification_id == event.id:
            continue
        if link.leaf == leaf_hash(link.notification_id, event.originator_id, event.version,
                                  event.topic, event.state):
            return Damage("reordered", damage.position, damage.notification_id,
                          f"event stored here belongs at position {link.position} "
                          f"(notification id {link.notification_id})")
    return damage
