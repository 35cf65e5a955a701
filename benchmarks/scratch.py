"""Scratch stores for a benchmark: the embedded SQLite default in a directory, or a pair of
fresh PostgreSQL schemas (dropped afterwards) on the server the tests use."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import sqlalchemy as sa

from ledger.settings import Settings

PG_URL_ENVS = ("LEDGER_BENCH_POSTGRES_URL", "LEDGER_TEST_POSTGRES_URL")
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@contextmanager
def scratch(base: Settings, postgres: bool) -> Iterator[Settings]:
    """``base`` as it is (SQLite files under its data directory), or with both stores in
    new schemas of the PostgreSQL server, dropped when done."""
    if not postgres:
        yield base
        return
    url = next((os.environ[v] for v in PG_URL_ENVS if os.environ.get(v)), DEFAULT_PG_URL)
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    try:
        yield replace(base, main=replace(base.main, url=url, schema=schema),
                      pn=replace(base.pn, url=url, schema=f"{schema}_pn"))
    finally:
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}_pn" CASCADE')
        engine.dispose()
