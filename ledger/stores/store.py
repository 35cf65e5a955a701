"""One chained, sealed store: its event log and chain, key ring, Merkle tree, signed
checkpoints and known heads.

Every commit records the store's new chain head outside the database (its head file), so
any program that writes through a store, not only the CLI, makes tail truncation and a
recomputed chain detectable. ``verify()`` recomputes the chain against that head.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import InfrastructureFactory, Mapper, Recording
from eventsourcing.utils import Environment
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from ledger.errors import BadInput, Busy, KeyMaterialError, LedgerError
from ledger.integrity.heads import HeadFile
from ledger.keys.keyring import KeyRing
from ledger.keys.provider import KekProvider, RawKek
from ledger.persistence.log import EventLog
from ledger.persistence.mapper import SealingMapper
from ledger.persistence.recorder import SQLITE_BUSY_TIMEOUT_S, ChainedFactory, ChainedRecorder
from ledger.primitives.chain import Head
from ledger.settings import StoreSettings

if TYPE_CHECKING:  # verification, proofs and checkpoints load these when first used
    from ledger.integrity.checkpoint import CheckpointLog
    from ledger.integrity.records import Report
    from ledger.integrity.tree import StoredTree

SCRUB_ATTEMPTS = 10
SCRUB_WAIT_MS = 200
BUSY_TIMEOUT_MS = int(SQLITE_BUSY_TIMEOUT_S * 1000)
logger = logging.getLogger("ledger.stores")


def store_env(store: StoreSettings) -> dict[str, str]:
    env = {
        "PERSISTENCE_MODULE": "ledger.persistence.recorder:ChainedFactory",
        "SQLALCHEMY_URL": store.url,
        "CREATE_TABLE": "y",
    }
    if store.schema:
        env["SQLALCHEMY_SCHEMA"] = store.schema
    return env


def _check_driver(url: str) -> None:
    if url.startswith("postgresql"):
        try:
            import psycopg  # noqa: F401, PLC0415
        except ImportError:
            raise BadInput("a PostgreSQL URL needs the postgres extra: pip install "
                           "'ledger[postgres]'") from None


def _reason(error: Exception) -> str:
    """A loggable reason: an OS error's text, a ledger error's message, else only the kind
    (a driver's message may quote the statement and its parameters)."""
    if isinstance(error, OSError):
        return error.strerror or type(error).__name__
    return str(error) if isinstance(error, LedgerError) else type(error).__name__


KekSource = Callable[[str | None], KekProvider]


class FixedKek:
    """One key-encryption key given as bytes: version 1 only, never rotated."""

    name = "file"

    def __init__(self, key: bytes) -> None:
        self._kek = RawKek(1, key)

    def load(self, version: int) -> RawKek:
        if version != 1:
            raise KeyMaterialError("a key-encryption key given as bytes has version 1 only")
        return self._kek

    def exists(self, version: int) -> bool:
        return version == 1

    def create(self, version: int) -> bool:
        raise KeyMaterialError("a key-encryption key given as bytes cannot be rotated")

    def destroy(self, version: int) -> None:
        raise KeyMaterialError("a key-encryption key given as bytes cannot be retired")

    def close(self) -> None:
        pass


class Store(Application[UUID]):
    """An application over one chained, sealed store. Subclasses set ``name`` (the prefix
    of the store's tables, fixed forever: ``ledger``, ``psychotherapy``)."""

    def __init__(self, store: StoreSettings, kek: bytes | KekSource) -> None:
        """``kek``: this store's KEK providers by name (None: the configured one), or the
        32 bytes of a single key-encryption key (tests, benchmarks)."""
        _check_driver(store.url)
        self.settings = store
        if isinstance(kek, bytes):
            fixed = FixedKek(kek)
            self._kek: KekSource = lambda _name: fixed
        else:
            self._kek = kek
        self.heads = HeadFile(None if ":memory:" in store.url else store.heads_file)
        super().__init__(env=store_env(store))

    def construct_factory(self, env: Environment) -> InfrastructureFactory[Any]:
        factory = ChainedFactory(env)
        engine = factory.datastore.engine
        schema = self.settings.schema
        if schema and isinstance(engine, Engine) and engine.dialect.name != "sqlite":
            try:
                with engine.connect() as conn:
                    conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
                    conn.commit()
            except IntegrityError:
                pass  # another process created it at the same moment
        return factory

    def construct_mapper(self) -> Mapper[UUID]:
        self.keyring = KeyRing(self.engine, self._kek, self.name.lower(), self.settings.schema)
        self.keyring.create_table()
        return SealingMapper(self.construct_transcoder(), self.keyring)

    @property
    def engine(self) -> Engine:
        engine = cast(ChainedFactory, self.factory).datastore.engine
        assert isinstance(engine, Engine)
        return engine

    @cached_property
    def event_log(self) -> EventLog:
        """The store's events and chain (its tables: ``log.events``, ``log.chain``)."""
        return EventLog(name=self.settings.name, prefix=self.name.lower(),
                        schema=self.settings.schema, engine=self.engine,
                        recorder=cast(ChainedRecorder, self.recorder), mapper=self.mapper)

    @cached_property
    def tree(self) -> StoredTree:
        from ledger.integrity.tree import StoredTree  # noqa: PLC0415

        return StoredTree(self.event_log)

    @cached_property
    def checkpoints(self) -> CheckpointLog:
        from ledger.integrity.checkpoint import CheckpointLog  # noqa: PLC0415

        return CheckpointLog(self.event_log)

    # ----- heads and verification -------------------------------------------------------------

    def head(self) -> Head | None:
        """The chain head as the store says it is now."""
        return self.event_log.head()

    def verify(self, *, known_head: Head | None = None, use_known_head: bool = True,
               at: datetime | None = None) -> Report:
        """Recompute the chain from the stored rows, against ``known_head`` or else the
        head file (unless ``use_known_head`` is False). A clean report's head becomes the
        known head (when ``at`` is given), only if the chain passes through the head
        recorded before: verifying without it, or against another head, never moves the
        recorded one onto a rewritten chain. Never raises for damage: the report names it."""
        from ledger.integrity.verify import verify_store  # noqa: PLC0415

        known = known_head if known_head is not None else (
            self.heads.read() if use_known_head else None)
        report = verify_store(self.engine, self.event_log.events, self.event_log.chain,
                              store=self.settings.name, known_head=known)
        if report.ok and report.head is not None and at is not None:
            self.heads.record(report.head, at, extends=self.passes_through)
        return report

    def passes_through(self, known: Head) -> bool:
        return self.event_log.chain_at(known.position) == known.chain

    def _notify(self, recordings: list[Recording[UUID]]) -> None:
        """After every commit: remember the new head outside the database, if the chain
        still passes through the head known before (a commit onto it does; otherwise the
        chain is read at that position). The commit stands whatever happens here; a head
        that was not moved is logged, and ``verify`` reports why."""
        previous, head = cast(ChainedRecorder, self.recorder).written()
        if head is None or not recordings:
            return
        at: datetime = max(getattr(r.domain_event, "timestamp") for r in recordings)  # noqa: B009

        def extends(known: Head) -> bool:
            return known == previous or self.passes_through(known)

        try:
            moved = self.heads.record(head, at, extends=extends)
        except Exception as e:  # the commit stands, whatever failed: the file or the query
            logger.warning("%s: committed up to position %d, but its head was not recorded "
                           "in %s (%s)", self.settings.name, head.position,
                           self.settings.heads_file, _reason(e))
            return
        if not moved:
            logger.warning("%s: committed up to position %d, but the store no longer passes "
                           "through its known head, which stays where it was (run ledger "
                           "verify)", self.settings.name, head.position)

    # ----- maintenance --------------------------------------------------------------------------

    def scrub(self) -> None:
        """Leave no recoverable copy of destroyed key bytes in the store's files.

        SQLite runs with secure_delete on (freed space is zeroed); a TRUNCATE checkpoint
        then copies the zeroed pages into the database file and empties the WAL, which
        held the old page images. PostgreSQL: VACUUM the keys table so the old row
        versions are reclaimed; its WAL and backups are outside this process (README)."""
        table = self.keyring.table
        if self.engine.dialect.name == "sqlite":
            for attempt in range(SCRUB_ATTEMPTS):
                with self.engine.connect() as conn:
                    # Wait briefly for readers, not the store's long write timeout.
                    conn.exec_driver_sql(f"PRAGMA busy_timeout = {SCRUB_WAIT_MS}")
                    try:
                        busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
                    finally:
                        conn.exec_driver_sql(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                if busy is not None and busy[0] == 0:
                    return
                time.sleep(0.05 * (attempt + 1))
            raise Busy("another process is reading the store, so destroyed key bytes may "
                       "still be in its WAL file; nothing is lost: run the purge again when "
                       "it is done")
        name = f'"{table.schema}"."{table.name}"' if table.schema else f'"{table.name}"'
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql(f"VACUUM {name}")

    def close(self) -> None:
        self.heads.close()
        self.engine.dispose()
