"""The scheduled jobs: plain functions, and the real APScheduler briefly."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from eventsourcing.utils import get_topic

from jobs import runs
from jobs import scheduler as jobs_scheduler
from jobs.heartbeat import Beat, heartbeats
from ledger import settings as settings_module
from ledger.agent import Agent, acting_through
from ledger.aggregates.destruction import Destruction
from ledger.bootstrap import open_ledger
from ledger.settings import Settings
from tests.integration.test_purge import practice


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for var in ("LEDGER_URL", "LEDGER_PN_URL", "LEDGER_SCHEMA", "LEDGER_PN_SCHEMA",
                "LEDGER_KEK", "LEDGER_PN_KEK", "LEDGER_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    s = settings_module.load_settings(str(tmp_path / "data"), environ={})
    practice(s, clients=1)  # one client due since 2017
    return s


def test_the_jobs_are_plain_functions(settings: Settings,
                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="ledger.jobs")
    assert jobs_scheduler.verification(str(settings.data_dir)) is True
    assert jobs_scheduler.retention_sweep(str(settings.data_dir), "comp") == 1
    assert jobs_scheduler.retention_sweep(str(settings.data_dir), "comp") == 0
    lines = [r.getMessage() for r in caplog.records]
    assert any(line.endswith("as comp: 1 client(s) destroyed") for line in lines)
    assert any(": main: intact, " in line for line in lines)
    assert "P-0" not in "\n".join(lines) and "Name 0" not in "\n".join(lines)


def test_the_verification_job_checks_the_read_models(settings: Settings,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="ledger.jobs")
    with open_ledger(settings) as lg:
        lg.main.access_projection.catch_up()
        table, engine = lg.main.access_projection.table, lg.main.engine
        with engine.begin() as conn:  # an insider deletes one row of the access history
            first = conn.execute(sa.select(sa.func.min(table.c.position))).scalar()
            conn.execute(table.delete().where(table.c.position == first))
    assert jobs_scheduler.verification(str(settings.data_dir)) is False
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert errors[0].endswith(f"read model access-main disagrees with the log at position "
                              f"{first}: a row the log makes is missing (deleted)")


def test_the_real_scheduler_runs_the_jobs_from_a_persistent_store(
        settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="ledger.jobs")
    with acting_through(Agent(os_user="ops")):  # the OS user of `ledger jobs run`
        options = jobs_scheduler.scheduler_options(settings.main.url, settings.main.schema)
    scheduler = BackgroundScheduler(**options)
    jobs_scheduler.configure(scheduler, str(settings.data_dir), actor="comp")
    scheduler.start()
    try:
        for job_id in ("retention-sweep", "verification"):
            scheduler.modify_job(job_id, next_run_time=datetime.now(UTC))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            messages = [r.getMessage() for r in caplog.records]
            if (any("client(s) destroyed" in m for m in messages)
                and any("verification at" in m for m in messages)):
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"the jobs did not run: {[r.getMessage() for r in caplog.records]}")
    finally:
        scheduler.shutdown(wait=True)
    lg = open_ledger(settings)
    app = lg.main
    try:
        assert app.is_shredded(lg.client_id("P-0"))
        receipts = [app.event_log.decode(n)
                    for n in app.event_log.scan([get_topic(Destruction.Recorded)])]
        assert receipts and {e.actor_os_user for e in receipts} == {"ops"}  # the job's thread
    finally:
        lg.close()
    engine = sa.create_engine(settings.main.url)
    with engine.connect() as conn:
        ids = set(conn.execute(sa.text("SELECT id FROM ledger_scheduled_jobs")).scalars())
    engine.dispose()
    assert ids == {"retention-sweep", "verification", "checkpoint"}  # persisted


def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` (bounded): a job runs on the scheduler's own thread."""
    deadline = time.monotonic() + 60
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen")
        time.sleep(0.1)


def beats(settings: Settings) -> dict[str, Beat]:
    with heartbeats(settings.main.url, settings.main.schema) as store:
        return {b.name: b for b in store.read()}


def test_a_failed_job_is_recorded_as_failed_and_the_scheduler_goes_on(
        settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="ledger.jobs")
    scheduler = BackgroundScheduler(
        **jobs_scheduler.scheduler_options(settings.main.url, settings.main.schema))
    # a clinician may not purge: the sweep is refused every time it runs
    jobs_scheduler.configure(scheduler, str(settings.data_dir), actor="dr-lee")
    scheduler.start()
    try:
        scheduler.modify_job("retention-sweep", next_run_time=datetime.now(UTC))
        wait_for(lambda: "retention-sweep" in beats(settings)
                 and beats(settings)["retention-sweep"].ended_at is not None, "the sweep")
        scheduler.modify_job("verification", next_run_time=datetime.now(UTC))
        wait_for(lambda: "verification" in beats(settings)
                 and beats(settings)["verification"].ended_at is not None, "the verification")
        assert scheduler.running
    finally:
        scheduler.shutdown(wait=True)
    sweep, check = beats(settings)["retention-sweep"], beats(settings)["verification"]
    assert (sweep.outcome, sweep.error) == ("failed", "Refused")
    assert sweep.started_at is not None and sweep.ended_at is not None
    assert (check.outcome, check.error) == ("ok", None)
    assert check.started_at is not None and check.started_at >= sweep.ended_at
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors] == [
        "job retention-sweep failed: Refused: refused: role clinician may not manage "
        "retention or legal holds (the attempt was recorded)"]
    assert not any(r.exc_info for r in caplog.records)  # one line, no traceback
    assert "P-0" not in caplog.text and "Name 0" not in caplog.text


def test_a_verification_that_finds_damage_is_recorded_as_failed(settings: Settings) -> None:
    with heartbeats(settings.main.url, settings.main.schema) as store:
        store.create()
    with open_ledger(settings) as lg:
        table, engine = lg.main.access_projection.table, lg.main.engine
        lg.main.access_projection.catch_up()
        with engine.begin() as conn:  # an insider deletes the access history
            conn.execute(table.delete())
    assert runs.run("verification", str(settings.data_dir)) is False
    check = beats(settings)["verification"]
    assert (check.outcome, check.error) == ("failed", "IntegrityFailure")
