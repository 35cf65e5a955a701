"""Whether a store already holds data, found without its key-encryption key and without
creating anything (a SQLite file that does not exist is not created)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import create_engine, func, inspect, select, table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError

from ledger.errors import IntegrityFailure
from ledger.settings import StoreSettings

# Each store's table prefix, fixed forever (the stores' ``name``, lower-cased).
PREFIXES = {"main": "ledger", "psychotherapy": "psychotherapy"}


def holds_data(store: StoreSettings) -> bool:
    """True if the store's events or data-key tables have any row. A file that is not a
    database is damage, named (IntegrityFailure): it is neither empty nor readable."""
    url = make_url(store.url)
    if url.get_backend_name() == "sqlite" and (
            not url.database or url.database == ":memory:" or not Path(url.database).exists()):
        return False
    prefix = PREFIXES[store.name]
    engine = create_engine(store.url)
    try:
        with engine.connect() as conn:
            present = set(inspect(conn).get_table_names(schema=store.schema))
            for name in (f"{prefix}_events", f"{prefix}_keys"):
                if name in present and conn.execute(select(func.count()).select_from(
                        table(name, schema=store.schema))).scalar():
                    return True
    except DatabaseError as e:
        if isinstance(e.orig, sqlite3.DatabaseError) and not isinstance(
                e.orig, sqlite3.OperationalError):
            raise IntegrityFailure(f"the {store.name} store's database {url.database} is not "
                                   "a SQLite database, or is damaged: restore it from your "
                                   "backup") from None
        raise
    finally:
        engine.dispose()
    return False
