"""A store's tables opened for reading only: no key, no table created, nothing written.

Verification needs the events and the chain, never a key-encryption key: an investigator
verifies a copy, perhaps on read-only media. SQLite files are opened with
``mode=ro`` (and, when even that needs a file the directory does not allow, as
immutable: a copy nobody writes); PostgreSQL is read in a read-only transaction by the
verifier itself.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    create_engine,
)
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from ledger.persistence.recorder import SQLITE_BUSY_TIMEOUT_S, chain_table


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for another database or an in-memory one)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def read_only_engine(url: str) -> Engine:
    """An engine that cannot write: a SQLite file opened read-only (immutable if its
    directory refuses the shared-memory file a read-only WAL reader needs)."""
    path = sqlite_path(url)
    if path is None:
        return create_engine(url, poolclass=NullPool)
    base = f"file:{quote(str(path.absolute()))}?mode=ro"

    def connect() -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(base, uri=True, timeout=SQLITE_BUSY_TIMEOUT_S,
                                   check_same_thread=False)
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.OperationalError:
            return sqlite3.connect(base + "&immutable=1", uri=True, check_same_thread=False)

    return create_engine("sqlite://", creator=connect, poolclass=NullPool)


def log_tables(prefix: str, schema: str | None) -> tuple[Table, Table]:
    """The events and chain tables of the store whose tables start with ``prefix``, as
    the verifier reads them (the columns eventsourcing-sqlalchemy defines)."""
    metadata = MetaData()
    events = Table(
        f"{prefix}_events", metadata,
        Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
        Column("originator_id", LargeBinary(16), nullable=False),
        Column("originator_version", BigInteger, nullable=False),
        Column("topic", Text, nullable=False),
        Column("state", LargeBinary, nullable=False),
        schema=schema,
    )
    return events, chain_table(metadata, f"{prefix}_events", schema)
