"""Persistence: an eventsourcing-sqlalchemy recorder that chains every event it inserts.

The chain row for each event is written by the same database transaction that inserts
the event, while that transaction holds the store's write lock (PostgreSQL: the
library's ``LOCK TABLE ... IN EXCLUSIVE MODE``; SQLite: the database write lock taken by
the first INSERT). Concurrent writers therefore see each other's chain head and can
never fork the chain.

A save may pass ``check=``: a function run inside that same transaction, under the write
lock, after the events are inserted and before they are chained. Raising there rolls the
whole insert back, so a condition it checks ("no staff exist yet") and the save are one
serialised step, with no event added for it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification, StoredEvent
from eventsourcing_sqlalchemy.datastore import SQLAlchemyDatastore, transactions
from eventsourcing_sqlalchemy.factory import SQLAlchemyFactory
from eventsourcing_sqlalchemy.recorders import SQLAlchemyApplicationRecorder
from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    LargeBinary,
    MetaData,
    Select,
    Table,
    bindparam,
    event,
    insert,
    select,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from ledger.primitives import private_files
from ledger.primitives.chain import GENESIS, Head, chain_hash, leaf_hash
from ledger.primitives.ids import uuid_bytes

SQLITE_BUSY_TIMEOUT_S = 60.0

# A condition a save holds to, checked under the write lock: given the transaction and the
# notification ids being inserted, it raises to refuse the save (see the module docstring).
InsertCheck = Callable[[Session, Sequence[int]], None]


def chain_table(metadata: MetaData, events_table_name: str, schema: str | None) -> Table:
    """The chain table of a store: one row per chained event, gap-free positions."""
    name = events_table_name.removesuffix("_events") + "_chain"
    return Table(
        name,
        metadata,
        Column("position", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True,
               autoincrement=False),
        Column("notification_id", BigInteger().with_variant(Integer(), "sqlite"),
               nullable=False, unique=True),
        Column("leaf", LargeBinary(32), nullable=False),
        Column("chain", LargeBinary(32), nullable=False),
        schema=schema,
    )


class LedgerDatastore(SQLAlchemyDatastore):
    """The library's datastore with SQLite settings fit for several writer processes."""

    def __init__(self, *, url: str | None = None, **kwargs: Any) -> None:
        if url and url.startswith("sqlite") and "memory" not in url:
            kwargs.setdefault("connect_args", {"timeout": SQLITE_BUSY_TIMEOUT_S})
            _create_sqlite_file(url)
        super().__init__(url=url, **kwargs)
        if self.is_sqlite_filedb and self.engine is not None:
            event.listen(self.engine, "connect", _sqlite_pragmas)


def _create_sqlite_file(url: str) -> None:
    """Create a new SQLite database file 0600 before SQLite does (it would make it 0644,
    or whatever the umask leaves). Its -wal, -shm and -journal files take its mode. An
    empty file is an empty database; a file that exists, or cannot be made, is SQLite's."""
    parsed = make_url(url)
    path = parsed.database
    if not path or path.startswith("file:") or "uri" in parsed.query:
        return  # a URI filename (a read-only copy, say): opened as given
    try:
        os.close(private_files.create(Path(path)))
    except OSError:
        return  # it exists, or SQLite will report why it cannot open it


def _inserted_id(result: Any) -> int:
    """The autoincremented id of a one-row Core INSERT (a ``CursorResult``)."""
    return int(result.inserted_primary_key[0])


def _open_transaction() -> bool:
    try:
        transactions.get()
    except LookupError:
        return False
    return True


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # Durable commits, and freed pages overwritten so removed bytes do not linger.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


class ChainedRecorder(SQLAlchemyApplicationRecorder):
    """Inserts events and their chain rows in one transaction, and remembers (per thread)
    the chain head the last insert wrote, so the store can record it after the commit."""

    def __init__(self, datastore: SQLAlchemyDatastore, *, events_table_name: str,
                 schema_name: str | None = None) -> None:
        super().__init__(datastore, events_table_name=events_table_name, schema_name=schema_name)
        self.chain = chain_table(MetaData(), events_table_name, schema_name)
        self.tables.append(self.chain)
        # Built once: building statements per insert costs SQLAlchemy a fresh cache key.
        c = self.chain.c
        self._head = select(c.position, c.chain).order_by(c.position.desc()).limit(1)
        self._append = insert(self.chain)
        self._insert_event = insert(self.events_record_cls.__table__)
        self._written = threading.local()
        self._select_events: dict[tuple[bool, bool, bool, bool], Select[Any]] = {}
        self._select_notifications: dict[tuple[bool, bool, bool, bool], Select[Any]] = {}

    def select_events(self, originator_id: UUID | str, gt: int | None = None,
                      lte: int | None = None, desc: bool = False, limit: int | None = None
                      ) -> list[StoredEvent]:
        """An aggregate's events, as the library selects them (same filters, order and
        transaction), through one Core statement built once per shape: the library builds
        an ORM query and loads an ORM object per row on every call, which was more than
        half the cost of reading an aggregate (every request of the HTTP service reads
        several: its token, its staff member, the note)."""
        shape = (gt is not None, lte is not None, desc, limit is not None)
        statement = self._select_events.get(shape)
        if statement is None:
            statement = self._select_events[shape] = self._events_statement(*shape)
        params: dict[str, Any] = {"originator_id": originator_id, "gt": gt, "lte": lte,
                                  "limit": limit}
        rows = self._read(statement, {k: v for k, v in params.items() if v is not None})
        return [StoredEvent(originator_id=row[0], originator_version=row[1], topic=row[2],
                            state=bytes(row[3]) if isinstance(row[3], memoryview) else row[3])
                for row in rows]

    def _read(self, statement: Select[Any], params: dict[str, Any]) -> Sequence[Any]:
        """The rows of a read, in the transaction this context has open if any (a save's
        check reads inside its own write), else on a pooled connection of its own: an ORM
        session begun and rolled back for each read cost more than the read. The library's
        own path is kept where it serialises access itself (an in-memory SQLite database)
        or shares one scoped session."""
        datastore = self.datastore
        engine = datastore.engine
        if (datastore.access_lock is not None or datastore.scoped_session is not None
                or not isinstance(engine, Engine) or _open_transaction()):
            with self.transaction(commit=False) as session:
                return session.execute(statement, params).all()
        if not datastore._tried_init_sqlite_wal_mode:  # as the library's first transaction
            datastore.init_sqlite_wal_mode()
        with engine.connect() as connection:
            return connection.execute(statement, params).all()

    def _events_statement(self, gt: bool, lte: bool, desc: bool, limit: bool) -> Select[Any]:
        c = self.events_record_cls.__table__.c
        statement = select(c.originator_id, c.originator_version, c.topic, c.state).where(
            c.originator_id == bindparam("originator_id"))
        if gt:
            statement = statement.where(c.originator_version > bindparam("gt"))
        if lte:
            statement = statement.where(c.originator_version <= bindparam("lte"))
        statement = statement.order_by(c.originator_version.desc() if desc
                                       else c.originator_version)
        return statement.limit(bindparam("limit")) if limit else statement

    def select_notifications(self, start: int | None, limit: int, stop: int | None = None,
                             topics: Sequence[str] = (), *, inclusive_of_start: bool = True
                             ) -> list[Notification]:
        """A page of the notification log, as the library selects it, through one Core
        statement per shape (see :meth:`select_events`): a projection catching up before
        a report reads a page or more each time, and did so through an ORM query."""
        shape = (start is not None, inclusive_of_start, stop is not None, bool(topics))
        statement = self._select_notifications.get(shape)
        if statement is None:
            statement = self._select_notifications[shape] = self._page_statement(*shape)
        params: dict[str, Any] = {"limit": limit}
        if start is not None:
            params["start"] = start
        if stop is not None:
            params["stop"] = stop
        if topics:
            params["topics"] = list(topics)
        rows = self._read(statement, params)
        return [Notification(id=row[0], originator_id=row[1], originator_version=row[2],
                             topic=row[3],
                             state=bytes(row[4]) if isinstance(row[4], memoryview) else row[4])
                for row in rows]

    def _page_statement(self, start: bool, inclusive: bool, stop: bool, topics: bool
                        ) -> Select[Any]:
        c = self.events_record_cls.__table__.c
        statement = select(c.id, c.originator_id, c.originator_version, c.topic, c.state)
        if start:
            statement = statement.where(c.id >= bindparam("start") if inclusive
                                        else c.id > bindparam("start"))
        if stop:
            statement = statement.where(c.id <= bindparam("stop"))
        if topics:
            statement = statement.where(c.topic.in_(bindparam("topics", expanding=True)))
        return statement.order_by(c.id).limit(bindparam("limit"))

    def insert_events(self, stored_events: Sequence[StoredEvent], *,
                      session: Session | None = None, **kwargs: Any) -> Sequence[int] | None:
        self._written.head = None
        return super().insert_events(stored_events, session=session, **kwargs)

    def written(self) -> tuple[Head | None, Head | None]:
        """The head this thread's last insert found (None: the store was empty) and the head
        it wrote (None: it wrote nothing); committed once insert_events returned."""
        return getattr(self._written, "previous", None), getattr(self._written, "head", None)

    def _insert_stored_events(
        self, session: Session, stored_events: Sequence[StoredEvent], *,
        check: InsertCheck | None = None, **kwargs: Any
    ) -> Sequence[int]:
        # The write lock (INSERT on SQLite, LOCK TABLE on PostgreSQL) is taken first, so
        # no other writer can move the head under us; then the events are inserted as the
        # library inserts them, one row at a time in order (ascending ids), through a Core
        # statement rather than an ORM object and a flush per event.
        if not stored_events:
            return []
        self._lock_table(session)
        ids = [_inserted_id(session.execute(self._insert_event, {
            "originator_id": stored.originator_id,
            "originator_version": stored.originator_version,
            "topic": stored.topic, "state": stored.state})) for stored in stored_events]
        self._notify_channel(session)
        if check is not None:
            check(session, ids)  # under the lock; raising rolls the whole insert back
        head = session.execute(self._head).first()
        position, previous = (int(head[0]), bytes(head[1])) if head else (0, GENESIS)
        self._written.previous = Head(position, previous) if head else None
        rows = []
        for notification_id, stored in zip(ids, stored_events, strict=True):
            position += 1
            leaf = leaf_hash(notification_id, uuid_bytes(stored.originator_id),
                             stored.originator_version, stored.topic, stored.state)
            previous = chain_hash(position, previous, leaf)
            rows.append({"position": position, "notification_id": notification_id,
                         "leaf": leaf, "chain": previous})
        session.execute(self._append, rows)
        self._written.head = Head(position, previous)
        return ids


class ChainedFactory(SQLAlchemyFactory):
    """Selected with ``PERSISTENCE_MODULE=ledger.persistence.recorder:ChainedFactory``
    (an environment setting of the application, never stored)."""

    datastore_class = LedgerDatastore
    application_recorder_class = ChainedRecorder
