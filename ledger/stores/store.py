"""The base application of every store: chained recorder, sealing mapper, key ring."""

from __future__ import annotations

import time
from typing import Any, cast
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import InfrastructureFactory, Mapper
from eventsourcing.utils import Environment
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from ledger.errors import Busy
from ledger.keys.keyring import KeyRing
from ledger.persistence.mapper import SealingMapper
from ledger.persistence.recorder import SQLITE_BUSY_TIMEOUT_S, ChainedFactory, ChainedRecorder
from ledger.settings import StoreSettings

SCRUB_ATTEMPTS = 10
SCRUB_WAIT_MS = 200
BUSY_TIMEOUT_MS = int(SQLITE_BUSY_TIMEOUT_S * 1000)


def store_env(store: StoreSettings) -> dict[str, str]:
    env = {
        "PERSISTENCE_MODULE": "ledger.persistence.recorder:ChainedFactory",
        "SQLALCHEMY_URL": store.url,
        "CREATE_TABLE": "y",
    }
    if store.schema:
        env["SQLALCHEMY_SCHEMA"] = store.schema
    return env


class Store(Application[UUID]):
    """An application over one chained, sealed store."""

    def __init__(self, store: StoreSettings, kek: bytes) -> None:
        self.settings = store
        self._kek = kek
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

    @property
    def chained_recorder(self) -> ChainedRecorder:
        return cast(ChainedRecorder, self.recorder)

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
        else:
            name = f'"{table.schema}"."{table.name}"' if table.schema else f'"{table.name}"'
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.exec_driver_sql(f"VACUUM {name}")

    def close(self) -> None:
        self.engine.dispose()
