"""A store as ``ledger verify`` sees it: its log and chain, read only, with no key.

Nothing is created, caught up or decrypted, so a read-only copy verifies without its
key-encryption key (investigators verify copies). A clean verification moves the known
head forward when the head file can be written, as a verification of the live store
does; on a read-only copy it is simply not recorded. A database that cannot be read at
all (a file that is not a database, its tables gone) is damage, named, not an error.
"""

from __future__ import annotations

import sqlite3
from contextlib import suppress
from datetime import datetime
from uuid import UUID

from sqlalchemy import Engine, MetaData, Table, select
from sqlalchemy.exc import DBAPIError

from ledger.integrity.heads import HeadFile
from ledger.integrity.records import Damage, Report
from ledger.integrity.verify import verify_store
from ledger.keys.keyring import keys_table
from ledger.persistence.failures import explain
from ledger.persistence.readonly import log_tables, read_only_engine, sqlite_path
from ledger.primitives.chain import Head
from ledger.settings import StoreSettings
from ledger.stores.probe import PREFIXES

SUBJECT = "subject:"  # a client's data key's subject is subject:<client id>


def client_keys(engine: Engine, table: Table) -> dict[UUID, bool]:
    """Each client's data key in a keys table and whether it is destroyed."""
    t = table.c
    with engine.connect() as conn:
        rows = conn.execute(select(t.subject, t.wrapped.is_(None))
                            .where(t.subject.like(f"{SUBJECT}%"))).all()
    return {UUID(str(s).removeprefix(SUBJECT)): bool(d) for s, d in rows}


class ReadOnlyStore:
    def __init__(self, store: StoreSettings) -> None:
        self.settings = store
        self.path = sqlite_path(store.url)
        self.engine = read_only_engine(store.url)
        self.events, self.chain = log_tables(PREFIXES[store.name], store.schema)
        self.heads = HeadFile(store.heads_file)

    def verify(self, *, known_head: Head | None = None, use_known_head: bool = True,
               at: datetime | None = None) -> Report:
        """As :meth:`ledger.stores.store.Store.verify`, reading only; an unreadable
        database is reported as damage ``unreadable``."""
        known = known_head if known_head is not None else (
            self.heads.read() if use_known_head else None)
        if not self.exists:  # never created (empty), unless it was known to hold events
            damage = None if known is None else Damage(
                kind="missing", position=0, notification_id=None,
                detail=f"the database file {self.path} is missing, but the store was known "
                       f"to reach position {known.position}")
            return Report(store=self.settings.name, events=0, head=None, damage=damage)
        try:
            report = verify_store(self.engine, self.events, self.chain,
                                  store=self.settings.name, known_head=known)
        except DBAPIError as e:
            unreadable = self._unreadable(e)
            if unreadable is None:
                raise
            return Report(store=self.settings.name, events=0, head=None, damage=Damage(
                kind="unreadable", position=0, notification_id=None, detail=unreadable))
        if report.ok and report.head is not None and at is not None:
            with suppress(OSError):  # a read-only copy: its known head stays where it was
                self.heads.record(report.head, at, extends=self.passes_through)
        return report

    def client_keys(self) -> dict[UUID, bool]:
        """Each client's data key in this store and whether it is destroyed (read only)."""
        if not self.exists:
            return {}
        return client_keys(self.engine, keys_table(MetaData(), PREFIXES[self.settings.name],
                                                   self.settings.schema))

    @property
    def exists(self) -> bool:
        """False for a SQLite file that is not there (a server database always exists)."""
        return self.path is None or self.path.exists()

    def passes_through(self, known: Head) -> bool:
        c = self.chain.c
        with self.engine.connect() as conn:
            found = conn.execute(select(c.chain).where(c.position == known.position)).scalar()
        return found is not None and bytes(found) == known.chain

    def _unreadable(self, error: DBAPIError) -> str | None:
        """Why the database could not be read, if it is the database's fault (not a lock,
        a lost connection or a missing permission, which say nothing of the data)."""
        if explain(error) is not None:
            return None
        orig = error.orig
        if isinstance(orig, sqlite3.DatabaseError):
            message = str(orig).lower()
            if "not a database" in message or "malformed" in message:
                return (f"the database file {sqlite_path(self.settings.url)} is not a SQLite "
                        "database, or is damaged")
            if "no such table" in message:
                return f"the store's tables are missing from {sqlite_path(self.settings.url)}"
        if getattr(orig, "sqlstate", None) == "42P01":  # undefined_table
            return "the store's tables are missing from its database"
        return None

    def close(self) -> None:
        self.heads.close()
        self.engine.dispose()
