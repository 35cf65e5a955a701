"""Recompute a store's hash chain from what is stored and name the first damage.

The verifier walks the events table (by notification id) and the chain table (by
position) side by side, in pages of the driver's own rows on one snapshot (on PostgreSQL
the database hashes each sealed state, so 32 bytes an event are read), and checks:

* every chain position 1..n is present, in order, with increasing notification ids;
* every event has a chain row and every chain row has its event;
* each event's recomputed leaf equals the stored leaf, and each chain value follows;
* optionally, that the store still reaches a head recorded earlier outside the database;
* as it goes, the Merkle root of the verified leaves (RFC 9162), in one streaming pass
  with O(log n) memory, and the root and chain value at any positions asked for.

A walk may start at a position the caller already trusts (a signed checkpoint): the chain
value stored there must be the trusted one, and the Merkle frontier there is given.

Damage kinds: ``edited``, ``missing``, ``inserted``, ``reordered``, ``truncated``,
``chain-altered``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from hashlib import sha256
from typing import Any, NamedTuple

from sqlalchemy import (
    Connection,
    Engine,
    LargeBinary,
    Select,
    Table,
    func,
    select,
    type_coerce,
)

from ledger.integrity.records import Damage, KnownHead, Mark, Report
from ledger.primitives.chain import GENESIS, chain_hash, leaf_hash_of_digest
from ledger.primitives.ids import uuid_bytes
from ledger.primitives.merkle import Frontier

PAGE = 5000


@dataclass(frozen=True)
class Start:
    """Where a walk begins: a position whose chain value and Merkle frontier are trusted."""

    position: int
    chain: bytes
    frontier: Frontier


class _Event(NamedTuple):
    id: int
    originator_id: bytes
    version: int
    topic: str
    digest: bytes  # SHA-256 of the stored state
    state: bytes | None  # the stored state itself, when a caller reads the events


OnEvent = Callable[[int, "_Event"], None]  # (position, verified event)


class _Link(NamedTuple):
    position: int
    notification_id: int
    leaf: bytes
    chain: bytes


def _pages(conn: Connection, query: Select[Any], key: Any, last: int | None
           ) -> Iterator[Sequence[Any]]:
    """The query's rows in pages ordered by ``key`` (an integer column), as the driver
    returns them (no per-row type processing, which is most of a walk's time otherwise),
    on the walk's connection: one transaction, one snapshot. The only values put into
    the SQL text are the integers that bound each page."""
    while True:
        page = query.where(key > last) if last is not None else query
        result = conn.exec_driver_sql(str(page.order_by(key).limit(PAGE).compile(
            dialect=conn.dialect, compile_kwargs={"literal_binds": True})))
        rows = result.cursor.fetchall()  # the driver's tuples, not result rows
        result.close()
        if not rows:
            return
        yield rows
        last = int(rows[-1][0])


def _events(conn: Connection, table: Table, last: int | None = None, *,
            states: bool = False) -> Iterator[_Event]:
    """The events in notification order. Without ``states``, PostgreSQL hashes each state
    itself, so only 32 bytes an event cross the wire."""
    c = table.c
    postgres = conn.dialect.name == "postgresql"
    in_db = not states and postgres
    state = type_coerce(func.sha256(c.state), LargeBinary) if in_db else c.state
    # PostgreSQL's uuid as its 16 raw bytes (no UUID object per row); SQLite stores them so.
    originator = type_coerce(func.uuid_send(c.originator_id), LargeBinary) if postgres \
        else c.originator_id
    query = select(c.id, originator, c.originator_version, c.topic, state)
    for rows in _pages(conn, query, c.id, last):
        for r in rows:
            value = bytes(r[4])
            yield _Event(r[0], uuid_bytes(r[1]), r[2], r[3],
                         value if in_db else sha256(value).digest(), value if states else None)


def _links(conn: Connection, table: Table, last: int = 0) -> Iterator[_Link]:
    c = table.c
    query = select(c.position, c.notification_id, c.leaf, c.chain)
    for rows in _pages(conn, query, c.position, last):
        for r in rows:
            yield _Link(r[0], r[1], bytes(r[2]), bytes(r[3]))


def verify_store(engine: Engine, events: Table, chain: Table, *, store: str,
                 known_head: KnownHead | None = None, start: Start | None = None,
                 marks: frozenset[int] = frozenset(), on_event: OnEvent | None = None,
                 roots: bool = False) -> Report:
    """Verify one store (from ``start`` if given, else from the first event); with
    ``roots`` (implied by ``start`` and ``marks``), recompute the Merkle root as it goes;
    ``marks``: positions whose root and chain value to keep;
    ``on_event`` sees each event once it is verified. Never raises for damage: the report
    names the first bad position."""
    with engine.connect() as conn:
        # One consistent snapshot for the whole walk, so concurrent writers cannot make an
        # intact store look damaged (a chain row read whose event was not yet visible).
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        elif engine.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN")  # WAL: a read snapshot that does not block writers
        frontier = start.frontier if start else (Frontier() if roots or marks else None)
        walk = _Walk(frontier=frontier, marks_at=marks, on_event=on_event)
        damage = _begin(conn, chain, start, walk) if start else None
        if damage is None:
            _walk(conn, events, chain, known_head.position if known_head else 0, walk)
            damage = walk.damage
        if damage is None and known_head is not None:
            damage = _check_known_head(known_head, walk, start)
        if damage is not None and damage.kind == "edited" and walk.bad_event is not None:
            damage = _maybe_reordered(conn, chain, damage, walk.bad_event)
        if damage is not None and damage.kind == "inserted":
            damage = _maybe_moved_link(conn, chain, damage)
    root = walk.frontier.root() if damage is None and walk.frontier is not None else None
    return Report(store=store, events=walk.position, head=walk.head, damage=damage,
                  root=root, marks=walk.marks, start=start.position if start else 0)


def _begin(conn: Connection, chain: Table, start: Start, walk: _Walk) -> Damage | None:
    """Position the walk after ``start``, whose stored chain value must be the trusted one."""
    c = chain.c
    row = conn.execute(select(c.notification_id, c.chain)
                       .where(c.position == start.position)).first()
    if row is None:
        return Damage("truncated", start.position, None,
                      f"the store no longer has position {start.position}, which a signed "
                      "checkpoint covers")
    if bytes(row[1]) != start.chain:
        return Damage("chain-altered", start.position, int(row[0]),
                      "the chain was rewritten: it no longer has the chain value a signed "
                      "checkpoint records here")
    walk.position, walk.previous, walk.last_nid = start.position, start.chain, int(row[0])
    walk.head = KnownHead(start.position, start.chain) if start.position else None
    return None


@dataclass
class _Walk:
    frontier: Frontier | None
    marks_at: frozenset[int] = frozenset()
    on_event: OnEvent | None = None
    position: int = 0
    previous: bytes = GENESIS
    last_nid: int = 0
    head: KnownHead | None = None
    damage: Damage | None = None
    bad_event: _Event | None = None
    value_at_known: bytes | None = None
    marks: dict[int, Mark] = field(default_factory=dict)


def _walk(conn: Connection, events: Table, chain: Table, known_position: int,
          walk: _Walk) -> None:
    event_iter = _events(conn, events, walk.last_nid or None, states=walk.on_event is not None)
    link_iter = _links(conn, chain, walk.position)
    event, link = next(event_iter, None), next(link_iter, None)
    previous, last_nid = walk.previous, walk.last_nid
    frontier, marks_at, on_event = walk.frontier, walk.marks_at, walk.on_event
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
            leaf = leaf_hash_of_digest(event.id, event.originator_id, event.version,
                                       event.topic, event.digest)
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
            return
        assert link is not None and event is not None
        previous, walk.position, last_nid = link.chain, expected, event.id
        if frontier is not None:
            frontier.push(link.leaf)
        if expected == known_position:
            walk.value_at_known = previous
        if frontier is not None and expected in marks_at:
            walk.marks[expected] = Mark(expected, frontier.root(), previous)
        if on_event is not None:
            on_event(expected, event)
        event, link = next(event_iter, None), next(link_iter, None)
    walk.head = KnownHead(walk.position, previous) if walk.position else None


def _check_known_head(known: KnownHead, walk: _Walk, start: Start | None) -> Damage | None:
    if start is not None and known.position <= start.position:
        # A head older than the trusted start is superseded by it (the start's chain value
        # was checked); one at the start itself must agree with it.
        if known.position == start.position and known.chain != start.chain:
            return Damage("chain-altered", known.position, None,
                          "the known head disagrees with the signed checkpoint here")
        return None
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
        if link.leaf == leaf_hash_of_digest(link.notification_id, event.originator_id,
                                            event.version, event.topic, event.digest):
            return Damage("reordered", damage.position, damage.notification_id,
                          f"event stored here belongs at position {link.position} "
                          f"(notification id {link.notification_id})")
    return damage
