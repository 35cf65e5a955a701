"""Whether a store already holds data, found without its key-encryption key and without
creating anything (a SQLite file that does not exist is not created)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, func, inspect, select, table
from sqlalchemy.engine import make_url

from ledger.settings import StoreSettings

# Each store's table prefix, fixed forever (the stores' ``name``, lower-cased).
PREFIXES = {"main": "ledger", "psychotherapy": "psychotherapy"}


def holds_data(store: StoreSettings) -> bool:
    """True if the store's events or data-key tables have any row."""
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
    finally:
        engine.dispose()
    return False
