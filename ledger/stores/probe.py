"""Whether a store already holds data, and whether its client ids are keyed, found without
its key-encryption key and without creating anything (a SQLite file that does not exist is
not created). A file that is not a database is damage, named (IntegrityFailure): it is
neither empty nor readable."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, column, create_engine, func, inspect, select, table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError

from ledger.errors import IntegrityFailure
from ledger.keys.pseudonyms import PseudonymRecord
from ledger.settings import StoreSettings

# Each store's table prefix, fixed forever (the stores' ``name``, lower-cased).
PREFIXES = {"main": "ledger", "psychotherapy": "psychotherapy"}


@contextmanager
def _engine(store: StoreSettings) -> Iterator[Engine | None]:
    """An engine on the store's database; None if it is a SQLite file that does not exist
    (or in memory: a new one is empty)."""
    url = make_url(store.url)
    if url.get_backend_name() == "sqlite" and (
            not url.database or url.database == ":memory:" or not Path(url.database).exists()):
        yield None
        return
    engine = create_engine(store.url)
    try:
        yield engine
    except DatabaseError as e:
        if isinstance(e.orig, sqlite3.DatabaseError) and not isinstance(
                e.orig, sqlite3.OperationalError):
            raise IntegrityFailure(f"the {store.name} store's database {url.database} is not "
                                   "a SQLite database, or is damaged: restore it from your "
                                   "backup") from None
        raise
    finally:
        engine.dispose()


def holds_data(store: StoreSettings) -> bool:
    """True if the store's events or data-key tables have any row."""
    prefix = PREFIXES[store.name]
    with _engine(store) as engine:
        if engine is None:
            return False
        with engine.connect() as conn:
            present = set(inspect(conn).get_table_names(schema=store.schema))
            for name in (f"{prefix}_events", f"{prefix}_keys"):
                if name in present and conn.execute(select(func.count()).select_from(
                        table(name, schema=store.schema))).scalar():
                    return True
    return False


def pseudonym_record(store: StoreSettings) -> str | None:
    """The main store's record that its client ids are keyed (the secret's check value)."""
    with _engine(store) as engine:
        return None if engine is None else PseudonymRecord(engine, store.schema).read()


def kek_versions(store: StoreSettings) -> list[tuple[int, str]]:
    """The store's key-encryption key versions not retired, with their providers, oldest
    first ([] if none is recorded yet)."""
    name = f"{PREFIXES[store.name]}_kek_versions"
    with _engine(store) as engine:
        if engine is None:
            return []
        with engine.connect() as conn:
            if name not in set(inspect(conn).get_table_names(schema=store.schema)):
                return []
            t = table(name, column("version"), column("provider"), column("retired_at"),
                      schema=store.schema)
            rows = conn.execute(select(t.c.version, t.c.provider).where(
                t.c.retired_at.is_(None)).order_by(t.c.version)).all()
    return [(int(v), str(p)) for v, p in rows]
