"""``ledger jobs status``: next runs from the job store, last runs from the heartbeat, and
whether the scheduler looks alive."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.schedulers.background import BackgroundScheduler

from jobs import scheduler as jobs_scheduler
from jobs.heartbeat import heartbeats
from ledger.settings import Settings, load_settings


def settings_of(tmp_path: Path) -> Settings:
    return load_settings(str(tmp_path / "data"), environ={})


def schedule(settings: Settings) -> dict[str, datetime]:
    """What ``jobs run`` writes to the job store at start; the next runs it computed."""
    scheduler = BackgroundScheduler(
        **jobs_scheduler.scheduler_options(settings.main.url, settings.main.schema))
    jobs_scheduler.configure(scheduler, str(settings.data_dir), actor="comp")
    scheduler.start(paused=True)
    try:
        return {job.id: job.next_run_time for job in scheduler.get_jobs(jobstore="default")}
    finally:
        scheduler.shutdown(wait=True)


def test_status_of_a_ledger_that_is_not_initialised_is_one_line_and_exit_1(
        run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = run("jobs", "status")
    assert r.exit_code == 1
    assert r.stderr == f"error: no ledger in {tmp_path / 'data'}: run 'ledger init' first\n"
    assert not (tmp_path / "data").exists()  # reading created nothing


def test_status_before_anything_ran_says_so(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run("init").exit_code == 0
    r = run("jobs", "status")
    assert r.exit_code == 0
    assert r.stdout == ("scheduler: never started\n"
                        "checkpoint: never ran; next run not scheduled\n"
                        "retention-sweep: never ran; next run not scheduled\n"
                        "verification: never ran; next run not scheduled\n"
                        "no job has run yet\n")
    data = json.loads(run("jobs", "status", "--json").stdout)
    assert data["scheduler"] == "never started" and data["alive"] is False
    assert [(j["job"], j["state"]) for j in data["jobs"]] == [
        ("checkpoint", "never ran"), ("retention-sweep", "never ran"),
        ("verification", "never ran")]


def test_status_shows_next_runs_last_runs_outcomes_and_life(
        run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run("init").exit_code == 0
    settings = settings_of(tmp_path)
    next_runs = schedule(settings)
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(minutes=5)
    with heartbeats(settings.main.url, settings.main.schema) as beats:
        beats.scheduler_started(at=start, pid=4242)
        beats.started("verification", at=start, pid=4242)
        beats.ended("verification", at=start + timedelta(seconds=2), pid=4242, error=None)
        beats.started("retention-sweep", at=start, pid=4242)
        beats.ended("retention-sweep", at=start + timedelta(seconds=1), pid=4242,
                    error="Refused")
        beats.started("checkpoint", at=now - timedelta(seconds=30), pid=4242)  # still going
        beats.alive(at=now - timedelta(seconds=30), pid=4242)

    r = run("jobs", "status")
    assert r.exit_code == 0
    t = {k: v.isoformat(timespec="seconds") for k, v in next_runs.items()}
    s = start.isoformat()
    assert r.stdout.splitlines() == [
        f"scheduler: alive (pid 4242; last heartbeat {(now - timedelta(seconds=30)).isoformat()})",
        f"checkpoint: running; started {(now - timedelta(seconds=30)).isoformat()}; "
        f"next run {t['checkpoint']}",
        f"retention-sweep: failed (Refused); last run {s} to "
        f"{(start + timedelta(seconds=1)).isoformat()}; next run {t['retention-sweep']}",
        f"verification: ok; last run {s} to {(start + timedelta(seconds=2)).isoformat()}; "
        f"next run {t['verification']}",
    ]
    data = json.loads(run("jobs", "status", "--json").stdout)
    assert (data["scheduler"], data["alive"], data["pid"]) == ("alive", True, 4242)
    assert data["stale_after_seconds"] == 180
    jobs = {j["job"]: j for j in data["jobs"]}
    assert datetime.fromisoformat(jobs["verification"]["next_run"]) == next_runs["verification"]
    assert (jobs["retention-sweep"]["outcome"], jobs["retention-sweep"]["error"]) == (
        "failed", "Refused")


def test_a_silent_scheduler_is_not_alive_and_its_unfinished_job_interrupted(
        run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run("init").exit_code == 0
    settings = settings_of(tmp_path)
    then = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    with heartbeats(settings.main.url, settings.main.schema) as beats:
        beats.create()
        beats.scheduler_started(at=then, pid=99)  # then killed: no beat since
        beats.started("verification", at=then, pid=99)
    r = run("jobs", "status")
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    assert lines[0] == (f"scheduler: not alive (pid 99; last heartbeat {then.isoformat()}, "
                        "more than 180 s ago)")
    assert lines[3] == (f"verification: interrupted; started {then.isoformat()}; "
                        "next run not scheduled")
    with heartbeats(settings.main.url, settings.main.schema) as beats:
        beats.scheduler_stopped(at=then + timedelta(seconds=1), pid=99)
    assert run("jobs", "status").stdout.splitlines()[0] == (
        f"scheduler: stopped at {(then + timedelta(seconds=1)).isoformat()} (pid 99)")
