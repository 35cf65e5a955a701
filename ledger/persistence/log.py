"""One store's event log and chain, as the rest of the ledger reads them.

The one place that reaches into the recorder's tables: the events table (notification
order) and the chain table (gap-free positions, leaves and chain values). Everything that
pages through the log, maps notification ids to positions or reads stored rows for proofs
and bundles goes through :class:`EventLog`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, Notification
from sqlalchemy import Engine, Table, func, select, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from ledger.persistence.recorder import ChainedRecorder, InsertCheck
from ledger.primitives.chain import Head
from ledger.primitives.ids import uuid_bytes

PAGE = 500


@dataclass(frozen=True)
class StoredRow:
    """One event as stored, with its chain record (what a bundle carries)."""

    position: int
    notification_id: int
    leaf: bytes
    chain: bytes
    originator_id: bytes
    originator_version: int
    topic: str
    state: bytes


class EventLog:
    """The notification log and chain of one store."""

    def __init__(self, *, name: str, prefix: str, schema: str | None, engine: Engine,
                 recorder: ChainedRecorder, mapper: Mapper[UUID]) -> None:
        self.name = name  # the store's name in settings and reports: "main", "psychotherapy"
        self.prefix = prefix  # its tables' prefix: "ledger", "psychotherapy"
        self.schema = schema
        self.engine = engine
        self._recorder = recorder
        self._mapper = mapper
        self.events: Table = recorder.events_record_cls.__table__
        self.chain: Table = recorder.chain

    # ----- events, in notification order --------------------------------------------------

    def notifications(self, start: int, limit: int,
                      topics: Sequence[str] = ()) -> list[Notification]:
        return self._recorder.select_notifications(start, limit, topics=topics)

    def decode(self, notification: Notification) -> object:
        return self._mapper.to_domain_event(notification)

    def scan(self, topics: Sequence[str], page: int = PAGE) -> Iterator[Notification]:
        """Every notification of these topics, in order, read a page at a time."""
        start = 1
        while batch := self.notifications(start, page, topics):
            yield from batch
            start = batch[-1].id + 1

    def originators(self, topic: str) -> Iterator[UUID]:
        """The originator of every event of ``topic`` (for creation events: every aggregate)."""
        for n in self.scan([topic]):
            yield UUID(str(n.originator_id))

    def events_at(self, notification_ids: list[int]) -> Iterator[tuple[int, object]]:
        """The events at ``notification_ids`` (ascending), read in pages of nearby ids, so
        a long answer costs a few range reads, a sparse one a read per row."""
        i = 0
        while i < len(notification_ids):
            first = notification_ids[i]
            j = i
            while j + 1 < len(notification_ids) and notification_ids[j + 1] - first < PAGE:
                j += 1
            wanted = set(notification_ids[i:j + 1])
            for n in self.notifications(first, notification_ids[j] - first + 1):
                if n.id in wanted:
                    yield n.id, self.decode(n)
            i = j + 1

    def notifications_at(self, notification_ids: Sequence[int]) -> list[Notification]:
        """The notifications with these ids, in id order, read by id a page at a time (a
        sparse answer over a long log costs one read per page, not one per range)."""
        e = self.events.c
        found: list[Notification] = []
        ids = sorted(notification_ids)
        with self.engine.connect() as conn:
            for i in range(0, len(ids), PAGE):
                rows = conn.execute(select(e.id, e.originator_id, e.originator_version, e.topic,
                                           e.state).where(e.id.in_(ids[i:i + PAGE]))
                                    .order_by(e.id))
                found.extend(Notification(id=int(r[0]), originator_id=r[1],
                                          originator_version=int(r[2]), topic=r[3],
                                          state=bytes(r[4])) for r in rows)
        return found

    def first_topic(self, originator_id: UUID) -> str | None:
        """The topic of the aggregate's first event (None if it has none): what it is,
        without decrypting anything."""
        events = self._recorder.select_events(originator_id, limit=1)
        return events[0].topic if events else None

    def count(self, *, after: int = 0, topics: Sequence[str] = ()) -> int:
        """How many events of these topics lie after notification id ``after``."""
        e = self.events.c
        query = select(func.count()).select_from(self.events).where(e.id > after)
        if topics:
            query = query.where(e.topic.in_(list(topics)))
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar() or 0)

    def counts_by_originator(self, topics: Sequence[str], *, upto: int,
                             originator_id: UUID | None = None) -> dict[UUID, int]:
        """How many events of these topics each aggregate has, up to notification id
        ``upto`` (read without decrypting anything)."""
        e = self.events.c
        raw_id = type_coerce(e.originator_id, NullType())
        query = (select(raw_id, func.count()).where(e.topic.in_(list(topics)), e.id <= upto)
                 .group_by(e.originator_id))
        if originator_id is not None:
            query = query.where(e.originator_id == originator_id)
        with self.engine.connect() as conn:
            return {UUID(bytes=uuid_bytes(o)): int(n) for o, n in conn.execute(query)}

    def none_stored(self, topics: Sequence[str], refusal: Exception) -> InsertCheck:
        """A check for a save (``store.save(..., check=...)``): it raises ``refusal``
        unless no event of these topics is stored besides the ones the save inserts. It runs
        under the store's write lock, so no racing save can slip in between."""
        e = self.events.c

        def check(session: Session, inserting: Sequence[int]) -> None:
            found = session.execute(select(e.id).where(
                e.topic.in_(list(topics)), e.id.not_in(list(inserting))).limit(1)).first()
            if found is not None:
                raise refusal

        return check

    def last_id(self) -> int:
        """The latest notification id (0 for an empty log)."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.max(self.events.c.id))).scalar() or 0)

    def decode_stored(self, notification_id: int, originator_id: bytes, version: int,
                      topic: str, state: bytes) -> object:
        """An event from its raw stored fields (as a verifier reads them)."""
        return self.decode(Notification(id=notification_id, originator_id=UUID(bytes=originator_id),
                                        originator_version=version, topic=topic, state=state))

    # ----- the chain, by position ---------------------------------------------------------

    def head(self) -> Head | None:
        c = self.chain.c
        with self.engine.connect() as conn:
            row = conn.execute(select(c.position, c.chain).order_by(c.position.desc())
                               .limit(1)).first()
        return Head(int(row[0]), bytes(row[1])) if row else None

    def chain_at(self, position: int) -> bytes | None:
        """The chain value stored at ``position`` (None if there is none)."""
        c = self.chain.c
        with self.engine.connect() as conn:
            found = conn.execute(select(c.chain).where(c.position == position)).scalar()
        return bytes(found) if found is not None else None

    def size(self) -> int:
        head = self.head()
        return head.position if head else 0

    def leaves(self, after: int, limit: int) -> list[tuple[int, bytes]]:
        """(position, leaf) of up to ``limit`` positions after ``after``."""
        c = self.chain.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(c.position, c.leaf).where(c.position > after)
                                .order_by(c.position).limit(limit)).all()
        return [(int(p), bytes(leaf)) for p, leaf in rows]

    def positions_of(self, notification_ids: Iterable[int]) -> dict[int, int]:
        """The log position of each notification id (ids may skip; positions never do)."""
        ids = list(notification_ids)
        c = self.chain.c
        found: dict[int, int] = {}
        with self.engine.connect() as conn:
            for i in range(0, len(ids), PAGE):
                rows = conn.execute(select(c.notification_id, c.position).where(
                    c.notification_id.in_(ids[i:i + PAGE])))
                found.update({int(n): int(p) for n, p in rows})
        return found

    def positions_of_originators(self, originator_ids: Iterable[UUID]) -> set[int]:
        """The positions of every event of these aggregates."""
        ids = list(originator_ids)
        c, e = self.chain.c, self.events.c
        found: set[int] = set()
        with self.engine.connect() as conn:
            for i in range(0, len(ids), PAGE):
                found |= {int(p) for p in conn.execute(
                    select(c.position).join(self.events, e.id == c.notification_id)
                    .where(e.originator_id.in_(ids[i:i + PAGE]))).scalars()}
        return found

    def stored_originators(self, originator_ids: Iterable[UUID]) -> set[UUID]:
        """Which of these aggregates have events stored (without decrypting anything): a
        page of ids per query, so that an import asks once for many notes."""
        ids = list(originator_ids)
        e = self.events.c
        raw_id = type_coerce(e.originator_id, NullType())
        found: set[UUID] = set()
        with self.engine.connect() as conn:
            for i in range(0, len(ids), PAGE):
                found |= {UUID(bytes=uuid_bytes(r)) for r in conn.execute(
                    select(raw_id).where(e.originator_id.in_(ids[i:i + PAGE]),
                                         e.originator_version == 1)).scalars()}
        return found

    def stored_rows(self, up_to: int, positions: list[int] | None = None) -> Iterator[StoredRow]:
        """The events as stored with their chain records, by position, up to ``up_to``:
        all of them, or just ``positions``."""
        c, e = self.chain.c, self.events.c
        raw_id = type_coerce(e.originator_id, NullType())  # 16 raw bytes, no UUID conversion
        query = (select(c.position, c.notification_id, c.leaf, c.chain, raw_id,
                        e.originator_version, e.topic, e.state)
                 .join(self.events, e.id == c.notification_id)
                 .where(c.position <= up_to).order_by(c.position))
        pages: list[Any] = ([query] if positions is None else
                            [query.where(c.position.in_(positions[i:i + PAGE]))
                             for i in range(0, len(positions), PAGE)])
        with self.engine.connect() as opened:
            conn = opened.execution_options(yield_per=5000)  # stream, never a whole log
            for page in pages:
                for r in conn.execute(page):
                    yield StoredRow(int(r[0]), int(r[1]), bytes(r[2]), bytes(r[3]),
                                    uuid_bytes(r[4]), int(r[5]), str(r[6]), bytes(r[7]))

