"""Shared fixtures: settings on in-memory SQLite, SQLite files and PostgreSQL (own schema)."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from ledger import settings as settings_module
from ledger.bootstrap import initialise, open_main, open_pn
from ledger.settings import Settings
from ledger.stores.main import MainLedger
from ledger.stores.psychotherapy import PsychotherapyStore
from ledger.stores.store import Store

AT = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
PG_URL_ENV = "LEDGER_TEST_POSTGRES_URL"


def postgres_url() -> str | None:
    url = os.environ.get(PG_URL_ENV)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{PG_URL_ENV} must be set in CI: PostgreSQL tests may not skip there")
        pytest.skip(f"{PG_URL_ENV} not set")
    return url


def make_settings(tmp_path: Path, backend: str) -> Iterator[Settings]:
    """Settings for ``backend`` ('memory', 'sqlite' or 'postgres'); PG gets its own schema."""
    base = settings_module.load(str(tmp_path / "data"), environ={})
    if backend == "sqlite":
        yield base
        return
    if backend == "memory":
        yield replace(base, main=replace(base.main, url="sqlite:///:memory:"),
                      pn=replace(base.pn, url="sqlite:///:memory:"))
        return
    url = postgres_url()
    assert url is not None
    schema = f"t_{uuid.uuid4().hex[:16]}"
    yield replace(base, main=replace(base.main, url=url, schema=schema),
                  pn=replace(base.pn, url=url, schema=f"{schema}_pn"))
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}_pn" CASCADE')
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Settings on every durable backend; initialised."""
    gen = make_settings(tmp_path, request.param)
    s = next(gen)
    initialise(s, AT)
    yield s
    next(gen, None)


@pytest.fixture
def memory_app(tmp_path: Path) -> Iterator[MainLedger]:
    """A ledger on in-memory SQLite: fast unit tests."""
    gen = make_settings(tmp_path, "memory")
    s = next(gen)
    os.environ.pop("LEDGER_KEK", None)
    app = MainLedger(s.main, base64.b64decode(base64.b64encode(os.urandom(32))))
    yield app
    app.close()


Stores = tuple[MainLedger, PsychotherapyStore]


@pytest.fixture
def memory_stores(tmp_path: Path) -> Iterator[Stores]:
    """Both stores on in-memory SQLite, each with its own KEK."""
    gen = make_settings(tmp_path, "memory")
    s = next(gen)
    main = MainLedger(s.main, os.urandom(32))
    pn = PsychotherapyStore(s.pn, os.urandom(32), staff=main.staff_view,
                            client_exists=main.client_exists)
    yield main, pn
    pn.close()
    main.close()


@pytest.fixture
def stores(settings: Settings) -> Iterator[Stores]:
    """Both stores on every durable backend, opened as the CLI opens them."""
    main = open_main(settings)
    pn = open_pn(settings, main)
    yield main, pn
    pn.close()
    main.close()


@pytest.fixture
def app(settings: Settings) -> Iterator[MainLedger]:
    a = open_main(settings)
    yield a
    a.close()


def seed(app: MainLedger, at: datetime = AT) -> None:
    """An admin, a clinician, a supervisor, billing, front desk, compliance; one client."""
    app.add_staff("admin", "Ada Admin", "admin", by=None, at=at)
    for staff_id, role in [("dr-lee", "clinician"), ("dr-kim", "clinician"),
                           ("sup", "supervisor"), ("bill", "billing"),
                           ("desk", "front-desk"), ("comp", "compliance")]:
        app.add_staff(staff_id, staff_id.upper(), role, by="admin", at=at)
    from datetime import date
    app.register_client("C-1", "Jane Roe", date(1990, 4, 1), "CA", by="desk", at=at)


def all_events(app: Store) -> list[object]:
    """Every event in notification order, decoded (test helper)."""
    events: list[object] = []
    start = 1
    while page := app.recorder.select_notifications(start, 1000):
        events.extend(app.mapper.to_domain_event(n) for n in page)
        start = page[-1].id + 1
    return events


def audit_entries(app: Store) -> list[object]:
    from ledger.aggregates.audit import AuditEntry

    return [e for e in all_events(app) if isinstance(e, AuditEntry.Recorded)]


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    for var in ("LEDGER_URL", "LEDGER_SCHEMA", "LEDGER_KEK", "LEDGER_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    data = tmp_path / "data"
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:
        from cli.main import ledger

        return runner.invoke(ledger, ["--data-dir", str(data), *args], input=input,
                             catch_exceptions=False)

    return invoke
