"""Shared fixtures: settings on in-memory SQLite, SQLite files and PostgreSQL (own schema)."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from sqlalchemy import select

from ledger import settings as settings_module
from ledger.bootstrap import Ledger, initialise, open_ledger
from ledger.settings import Settings
from ledger.stores.main import MainStore
from ledger.stores.store import Store

AT = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
PG_URL_ENV = "LEDGER_TEST_POSTGRES_URL"
CHROMIUM = Path("/usr/bin/chromium")


def postgres_url() -> str | None:
    url = os.environ.get(PG_URL_ENV)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{PG_URL_ENV} must be set in CI: PostgreSQL tests may not skip there")
        pytest.skip(f"{PG_URL_ENV} not set")
    return url


def make_settings(tmp_path: Path, backend: str) -> Iterator[Settings]:
    """Settings for ``backend`` ('memory', 'sqlite' or 'postgres'); PG gets its own schema."""
    base = settings_module.load_settings(str(tmp_path / "data"), environ={})
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


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, object]:
    """pytest-playwright's launch arguments, for every browser test: Debian's Chromium,
    headless (``--no-sandbox``: the tests run as root). One Playwright serves the whole
    session, so a test takes the ``browser`` fixture rather than starting its own."""
    if not CHROMIUM.exists():
        why = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"{why}: browser tests may not skip under CI")
        pytest.skip(why)
    return {"executable_path": str(CHROMIUM), "args": ["--no-sandbox"], "headless": True}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Settings on every durable backend; initialised."""
    gen = make_settings(tmp_path, request.param)
    s = next(gen)
    initialise(s, AT)
    yield s
    next(gen, None)


@pytest.fixture
def memory_lg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Ledger]:
    """The ledger on in-memory SQLite (its keys in a temporary directory): fast tests."""
    for var in ("LEDGER_KEK", "LEDGER_PN_KEK", "LEDGER_PSEUDONYM_KEY", "LEDGER_PSEUDONYM_FILE"):
        monkeypatch.delenv(var, raising=False)
    gen = make_settings(tmp_path, "memory")
    s = next(gen)
    initialise(s, AT)  # the key files; the in-memory stores are made afresh when opened
    with open_ledger(s) as opened:
        yield opened


@pytest.fixture
def lg(settings: Settings) -> Iterator[Ledger]:
    """The ledger on every durable backend, opened as the CLI opens it."""
    with open_ledger(settings) as opened:
        yield opened


def seed(lg: Ledger, at: datetime = AT) -> None:
    """An admin, a clinician, a supervisor, billing, front desk, compliance; one client."""
    lg.staff.add("admin", "Ada Admin", "admin", by=None, at=at)
    for staff_id, role in [("dr-lee", "clinician"), ("dr-kim", "clinician"),
                           ("sup", "supervisor"), ("bill", "billing"),
                           ("desk", "front-desk"), ("comp", "compliance")]:
        lg.staff.add(staff_id, staff_id.upper(), role, by="admin", at=at)
    from datetime import date
    lg.clients.register("C-1", "Jane Roe", date(1990, 4, 1), "CA", by="desk", at=at)


def all_events(store: Store | Ledger) -> list[object]:
    """Every event in notification order, decoded (test helper; a ledger means its main
    store)."""
    if isinstance(store, Ledger):
        store = store.main
    log = store.event_log
    events: list[object] = []
    start = 1
    while page := log.notifications(start, 1000):
        events.extend(log.decode(n) for n in page)
        start = page[-1].id + 1
    return events


def audit_entries(store: Store | Ledger) -> list[object]:
    from ledger.aggregates.audit import AuditEntry

    return [e for e in all_events(store) if isinstance(e, AuditEntry.Recorded)]


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    for var in ("LEDGER_URL", "LEDGER_SCHEMA", "LEDGER_KEK", "LEDGER_CONFIG",
                "LEDGER_PSEUDONYM_KEY", "LEDGER_PSEUDONYM_FILE"):
        monkeypatch.delenv(var, raising=False)
    data = tmp_path / "data"
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:
        from cli.main import ledger

        return runner.invoke(ledger, ["--data-dir", str(data), *args], input=input,
                             catch_exceptions=False)

    invoke.tmp_path = tmp_path  # type: ignore[attr-defined]
    return invoke


def release_file(run) -> str:  # type: ignore[no-untyped-def]
    """A new file for ``disclose --out`` (a psychotherapy note is released only into one)."""
    return str(run.tmp_path / f"release-{uuid.uuid4().hex}.json")


PN_ASSERTION = ("--assertion", "written request of the medical examiner, 2026-01-10")


KEYS = Path(tempfile.mkdtemp(prefix="ledger-property-keys-"))  # removed with the tmp dir


def open_memory_ledger() -> Ledger:
    """A fresh ledger on in-memory SQLite (the key files are made once)."""
    base = settings_module.load_settings(str(KEYS), environ={})
    memory = replace(base, main=replace(base.main, url="sqlite:///:memory:"),
                     pn=replace(base.pn, url="sqlite:///:memory:"))
    if not memory.main.kek_file.exists():
        initialise(memory, AT)
    return open_ledger(memory)


def chain_leaves(app: MainStore) -> list[bytes]:
    c = app.event_log.chain.c
    with app.engine.connect() as conn:
        return [bytes(r[0]) for r in conn.execute(select(c.leaf).order_by(c.position))]


def record_unchecked(store: Store, actor_id: str, *, at: datetime = AT,
                     action: str = "access", outcome: str = "denied",
                     object_type: str = "progress-note", object_id: uuid.UUID | None = None,
                     client_id: uuid.UUID | None = None, version: int | None = None,
                     reason: str | None = None) -> None:
    """An audit entry written straight through the store API, bypassing every check of the
    services: what data recorded before identifiers were validated could hold."""
    from ledger.aggregates.audit import AuditEntry
    from ledger.aggregates.base import Actor, acting_as

    with acting_as(Actor(id=actor_id, role="unknown")):
        store.save(AuditEntry.record(
            action=action, outcome=outcome, object_type=object_type,  # type: ignore[arg-type]
            at=at, object_id=object_id, client_id=client_id, version=version,
            reason=reason))


def grow(lg: Ledger, n: int) -> None:
    note = lg.notes.write("C-1", "t", by="dr-lee", session_date=None, at=AT)
    for i in range(n):
        lg.notes.read(note, by="dr-lee", purpose="TREAT", version=None,
                      at=AT + timedelta(minutes=i))
