"""``ledger jobs run`` as a service, in a real process: SIGTERM (systemd) and SIGINT (Ctrl-C)
stop it cleanly, also when a second signal follows during the stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jobs.heartbeat import SCHEDULER, heartbeats
from ledger.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]


def default_sigint() -> None:
    """The child gets SIGINT as from a terminal, even if this test runs in a background
    job (where the shell makes children ignore it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    data = tmp_path / "data"
    for args in (["init"], ["staff", "add", "--id", "admin", "--name", "A", "--role", "admin"],
                 ["staff", "add", "--id", "comp", "--name", "C", "--role", "compliance",
                  "--as", "admin"]):
        done = subprocess.run([sys.executable, "-m", "cli", "--data-dir", str(data), *args],
                              env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
                              check=False)
        assert done.returncode == 0, done.stderr
    return data


def wait_until_a_job_ran(process: subprocess.Popen[bytes], data: Path, log: Path) -> None:
    """Poll the heartbeat (bounded) until the scheduler has finished a run."""
    settings = load_settings(str(data), environ={})
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"jobs run exited early ({process.returncode}): {log.read_text()}")
        with heartbeats(settings.main.url, settings.main.schema) as store:
            if store.exists() and any(b.name != SCHEDULER and b.ended_at is not None
                                      for b in store.read()):
                return
        time.sleep(0.2)
    pytest.fail(f"no job ran: {log.read_text()}")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_scheduler_with_one_line_and_exit_0(
        data_dir: Path, tmp_path: Path, signum: signal.Signals) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    log = tmp_path / "stderr.log"
    with log.open("wb") as stderr:  # a file, not a pipe nobody reads while it runs
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", "--data-dir", str(data_dir), "jobs", "run",
             "--as", "comp", "--run-now"],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr,
            preexec_fn=default_sigint)  # noqa: PLW1509 (no threads in this test)
        try:
            wait_until_a_job_ran(process, data_dir, log)
            process.send_signal(signum)
            process.send_signal(signum)  # impatient: a second one while it stops
            code = process.wait(timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    text = log.read_text(encoding="utf-8")
    assert code == 0, text
    assert "Traceback" not in text and "Aborted" not in text
    stopped = [line for line in text.splitlines() if "stopped" in line]
    assert len(stopped) == 1, text
    assert stopped[0].endswith(f"ledger.jobs: scheduler stopped on {signum.name}")
    settings = load_settings(str(data_dir), environ={})
    with heartbeats(settings.main.url, settings.main.schema) as store:
        own = {b.name: b for b in store.read()}[SCHEDULER]
    assert own.ended_at is not None and own.pid == process.pid  # a clean stop, recorded
