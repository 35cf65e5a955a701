"""The scheduler's heartbeat on SQLite and PostgreSQL: a table in the main store's database
(its own schema on PostgreSQL), written by the runs, read by ``jobs status``."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from jobs import runs
from jobs.heartbeat import HEARTBEAT_TABLE, SCHEDULER, heartbeats
from jobs.status import STALE_AFTER, read_status
from ledger.settings import Settings, load_settings

T = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def use_config(settings: Settings) -> None:
    """The jobs open the ledger from its data directory: point it at the test's stores."""
    lines = [f'url = "{settings.main.url}"', f'pn_url = "{settings.pn.url}"']
    if settings.main.schema:
        lines += [f'schema = "{settings.main.schema}"', f'pn_schema = "{settings.pn.schema}"']
    (settings.data_dir / "ledger.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert load_settings(str(settings.data_dir)).main == settings.main


def test_runs_and_life_are_recorded_and_read_back(settings: Settings) -> None:
    with heartbeats(settings.main.url, settings.main.schema) as beats:
        assert beats.read() == []  # nothing made yet: reading creates nothing
        assert not beats.exists()
        beats.create()
        beats.create()  # idempotent
        beats.scheduler_started(at=T, pid=41)
        beats.started("verification", at=T, pid=41)
        beats.ended("verification", at=T + timedelta(seconds=3), pid=41, error=None)
        beats.started("retention-sweep", at=T + timedelta(minutes=1), pid=41)
        beats.ended("retention-sweep", at=T + timedelta(minutes=2), pid=41, error="Refused")
        beats.alive(at=T + timedelta(minutes=5), pid=41)
        rows = {b.name: b for b in beats.read()}
    assert set(rows) == {SCHEDULER, "verification", "retention-sweep"}
    assert (rows["verification"].started_at, rows["verification"].ended_at,
            rows["verification"].outcome, rows["verification"].error) == (
        T, T + timedelta(seconds=3), "ok", None)
    assert (rows["retention-sweep"].outcome, rows["retention-sweep"].error) == (
        "failed", "Refused")
    assert rows[SCHEDULER].alive_at == T + timedelta(minutes=5)
    assert rows[SCHEDULER].started_at == T and rows[SCHEDULER].ended_at is None
    assert all(b.started_at is None or b.started_at.tzinfo is not None for b in rows.values())


def test_the_table_lives_in_the_main_stores_schema(settings: Settings) -> None:
    with heartbeats(settings.main.url, settings.main.schema) as beats:
        beats.create()
        inspector = sa.inspect(beats.engine)
        assert inspector.has_table(HEARTBEAT_TABLE, schema=settings.main.schema)
        if settings.main.schema:  # PostgreSQL: nothing in the shared public schema
            assert not inspector.has_table(HEARTBEAT_TABLE, schema="public")


def test_several_writers_at_once_leave_one_row_each(settings: Settings) -> None:
    with heartbeats(settings.main.url, settings.main.schema) as beats:
        beats.create()

    def write(i: int) -> None:
        with heartbeats(settings.main.url, settings.main.schema) as own:  # own engine
            own.alive(at=T + timedelta(seconds=i), pid=i)
            own.started("checkpoint", at=T + timedelta(seconds=i), pid=i)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(write, range(16)))
    with heartbeats(settings.main.url, settings.main.schema) as beats:
        rows = beats.read()
    assert [b.name for b in rows] == ["checkpoint", SCHEDULER]
    assert {b.pid for b in rows} <= set(range(16))


def test_a_run_is_recorded_and_the_status_reads_it(settings: Settings) -> None:
    use_config(settings)
    with heartbeats(settings.main.url, settings.main.schema) as beats:
        beats.create()
        beats.scheduler_started(at=datetime.now(UTC), pid=7)
    assert runs.run("checkpoint", str(settings.data_dir)) is True
    status = read_status(settings, at=datetime.now(UTC))
    assert (status.scheduler, status.alive, status.pid) == ("alive", True, 7)
    jobs = {j.job: j for j in status.jobs}
    assert set(jobs) == {"checkpoint", "retention-sweep", "verification"}
    assert jobs["checkpoint"].state == "ok"
    assert jobs["checkpoint"].last_start <= jobs["checkpoint"].last_end  # type: ignore[operator]
    assert jobs["verification"].state == "never ran"
    later = read_status(settings, at=datetime.now(UTC) + STALE_AFTER + timedelta(seconds=1))
    assert (later.scheduler, later.alive) == ("not alive", False)


def test_a_failure_to_record_is_a_warning_and_the_job_still_succeeds(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from ledger.bootstrap import initialise

    settings = load_settings(str(tmp_path / "data"), environ={})
    initialise(settings, T)
    caplog.set_level(logging.INFO, logger="ledger.jobs")
    # the heartbeat table was never made (nobody started the scheduler): recording fails
    assert runs.run("checkpoint", str(settings.data_dir)) is True
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["heartbeat not recorded (checkpoint started): OperationalError",
                        "heartbeat not recorded (checkpoint ended): OperationalError"]
    assert any("checkpoint at" in r.getMessage() for r in caplog.records)
