"""Backup and restore of stores on PostgreSQL, without ``pg_dump``.

Backup: one connection, one ``REPEATABLE READ READ ONLY`` transaction per database (both
stores in the same one when they share a database, so one snapshot of both), and every
table of each store's schema written with ``COPY ... TO STDOUT (FORMAT csv, HEADER)`` to
``<store>/<table>.csv``, in UTC and ISO dates. The copy is verified from those files: the
events and chain are loaded into an in-memory SQLite database and walked.

Restore: each store is staged in its own schema, ``<schema>_restore``, whose tables the
ledger itself creates (the same code as the live store's), filled with ``COPY ... FROM
STDIN`` and their sequences moved past the copied ids. Once the staged stores are ready,
one transaction per database drops each live schema and renames its staged one in its
place, so a reader sees the old store or the new one, never a mix. Restore on PostgreSQL
needs each store in its own schema (``LEDGER_SCHEMA``, ``LEDGER_PN_SCHEMA``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, Engine, create_engine, insert, inspect
from sqlalchemy.pool import NullPool, StaticPool

from ledger.errors import BadInput, IntegrityFailure
from ledger.integrity import manifest as manifests
from ledger.persistence.readonly import log_tables
from ledger.primitives import private_files
from ledger.settings import StoreSettings
from ledger.stores.probe import PREFIXES

BATCH = 2000
STAGING_SUFFIX = "_restore"
csv.field_size_limit(1 << 30)  # a sealed state can be large


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _driver(conn: Connection) -> Any:
    """The psycopg connection under a SQLAlchemy one (for COPY)."""
    return conn.connection.driver_connection


@contextmanager
def _session(url: str, *, snapshot: bool) -> Iterator[Connection]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            if snapshot:  # one snapshot for every table read in the transaction
                conn.execution_options(isolation_level="REPEATABLE READ")
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            conn.exec_driver_sql("SET LOCAL TIME ZONE 'UTC'")
            conn.exec_driver_sql("SET LOCAL DateStyle = 'ISO, YMD'")
            yield conn
            conn.commit()
    finally:
        engine.dispose()


def schema_of(store: StoreSettings) -> str:
    return store.schema or "public"


def _tables(conn: Connection, store: StoreSettings) -> list[str]:
    prefix = PREFIXES[store.name] + "_"
    return sorted(t for t in inspect(conn).get_table_names(schema=schema_of(store))
                  if t.startswith(prefix))


# ----- backup ------------------------------------------------------------------------------

def copy_stores(stores: Sequence[StoreSettings], out: Path) -> dict[str, dict[str, str]]:
    """Each store's tables as CSV files under ``out/<store>/``, the stores of one database
    from one snapshot; their files and SHA-256 digests by store."""
    copied: dict[str, dict[str, str]] = {}
    by_url: dict[str, list[StoreSettings]] = {}
    for store in stores:
        by_url.setdefault(store.url, []).append(store)
    for url, group in by_url.items():
        with _session(url, snapshot=True) as conn:
            for store in group:
                copied[store.name] = _copy_store(conn, store, out)
    return copied


def _copy_store(conn: Connection, store: StoreSettings, out: Path) -> dict[str, str]:
    folder = out / store.name
    private_files.make_dir(folder)
    files = {}
    schema = _quoted(schema_of(store))
    for table in _tables(conn, store):
        target = folder / f"{table}.csv"
        with open(private_files.create(target), "wb") as f, _driver(conn).cursor() as cur, \
                cur.copy(f"COPY {schema}.{_quoted(table)} TO STDOUT "
                         "(FORMAT csv, HEADER true)") as copy:
            for block in copy:
                f.write(block)
        files[f"{store.name}/{table}.csv"] = manifests.digest(target)
    return files


def copy_as_sqlite(out: Path, files: dict[str, str]) -> Engine:
    """The events and chain of a store's CSV copy in an in-memory SQLite database, as the
    verifier reads them (the originator ids as their 16 bytes, bytea decoded)."""
    events_file = next((n for n in files if n.endswith("_events.csv")), None)
    chain_file = next((n for n in files if n.endswith("_chain.csv")), None)
    if events_file is None or chain_file is None:
        raise IntegrityFailure("a store's copy lacks its events or its chain")
    prefix = Path(events_file).name.removesuffix("_events.csv")
    events, chain = log_tables(prefix, None)
    engine = create_engine("sqlite://", poolclass=StaticPool)
    events.metadata.create_all(engine)
    try:
        with engine.begin() as conn:
            _load(conn, events, out / events_file, lambda r: {
                "id": int(r["id"]), "originator_id": UUID(r["originator_id"]).bytes,
                "originator_version": int(r["originator_version"]), "topic": r["topic"],
                "state": _bytea(r["state"])})
            _load(conn, chain, out / chain_file, lambda r: {
                "position": int(r["position"]), "notification_id": int(r["notification_id"]),
                "leaf": _bytea(r["leaf"]), "chain": _bytea(r["chain"])})
    except (ValueError, KeyError):
        engine.dispose()
        raise IntegrityFailure(f"the copy {events_file} or {chain_file} is malformed") from None
    return engine


def _bytea(text: str) -> bytes:
    if not text.startswith("\\x"):
        raise ValueError("bytea in hex")
    return bytes.fromhex(text[2:])


def _load(conn: Connection, table: Any, path: Path, row: Any) -> None:
    with open(path, newline="", encoding="utf-8") as f:
        batch = []
        for record in csv.DictReader(f):
            batch.append(row(record))
            if len(batch) >= BATCH:
                conn.execute(insert(table), batch)
                batch = []
        if batch:
            conn.execute(insert(table), batch)


# ----- restore -----------------------------------------------------------------------------

def staged(store: StoreSettings, folder: Path) -> StoreSettings:
    """Where a store is staged: its schema with a suffix, its heads in ``folder``."""
    if store.schema is None:
        raise BadInput(f"restoring the {store.name} store on PostgreSQL needs it in its own "
                       "schema (LEDGER_SCHEMA, LEDGER_PN_SCHEMA): the restored store is "
                       "swapped in by renaming its schema")
    return replace(store, schema=store.schema[:63 - len(STAGING_SUFFIX)] + STAGING_SUFFIX,
                   heads_file=folder / "heads" / f"{store.name}.json")


def drop_schema(store: StoreSettings) -> None:
    with _session(store.url, snapshot=False) as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {_quoted(schema_of(store))} CASCADE")


def load(store: StoreSettings, source: Path, files: dict[str, str]) -> None:
    """Fill the staged store's tables (made already by opening it) from the CSV copies,
    then move each sequence past the largest copied id."""
    schema = _quoted(schema_of(store))
    with _session(store.url, snapshot=False) as conn:
        present = set(_tables(conn, store))
        for name in sorted(files):
            table = Path(name).name.removesuffix(".csv")
            if table not in present:
                raise IntegrityFailure(f"the backup holds a table {table} that this version "
                                       "of the ledger does not make; nothing was replaced")
            with open(source / name, "rb") as f:
                header = next(csv.reader(io.TextIOWrapper(io.BytesIO(f.readline()),
                                                          encoding="utf-8")))
                columns = ", ".join(_quoted(c) for c in header)
                conn.exec_driver_sql(f"TRUNCATE {schema}.{_quoted(table)}")
                with _driver(conn).cursor() as cur, cur.copy(
                        f"COPY {schema}.{_quoted(table)} ({columns}) FROM STDIN "
                        "(FORMAT csv)") as copy:
                    while block := f.read(1 << 20):
                        copy.write(block)
        serials = conn.exec_driver_sql(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = %(s)s AND column_default LIKE 'nextval(%%'",
            {"s": schema_of(store)}).all()
        for table, column in serials:
            qualified = f"{schema}.{_quoted(table)}"
            conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence(%(t)s, %(c)s), "
                f"COALESCE(max({_quoted(column)}), 1), max({_quoted(column)}) IS NOT NULL) "
                f"FROM {qualified}", {"t": qualified, "c": column})


def swap(pairs: Sequence[tuple[StoreSettings, StoreSettings]]) -> None:
    """For each (live, staged) store: the live schema dropped and the staged one renamed
    in its place, in one transaction per database."""
    by_url: dict[str, list[tuple[StoreSettings, StoreSettings]]] = {}
    for live, stage in pairs:
        by_url.setdefault(live.url, []).append((live, stage))
    for url, group in by_url.items():
        with _session(url, snapshot=False) as conn:
            for live, stage in group:
                conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {_quoted(schema_of(live))} "
                                     "CASCADE")
                conn.exec_driver_sql(f"ALTER SCHEMA {_quoted(schema_of(stage))} RENAME TO "
                                     f"{_quoted(schema_of(live))}")
