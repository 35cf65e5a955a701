"""Local mode (issue 13): the CLI without a server is the key holder's mode, where ``--as``
is only claimed; every event it records carries the OS user who ran the command."""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys
from pathlib import Path

import pytest

from cli import context
from ledger.agent import NO_AGENT, current_agent
from ledger.bootstrap import open_ledger
from ledger.settings import load_settings
from tests.cli.test_cli import ROOT, setup_practice
from tests.conftest import all_events

ME = pwd.getpwuid(os.geteuid()).pw_name


def test_every_event_of_a_local_command_records_the_os_user(run) -> None:  # type: ignore[no-untyped-def]
    note_id = setup_practice(run)
    assert run("note", "show", note_id, "--as", "dr-lee", "--purpose", "TREAT").exit_code == 0
    assert current_agent() == NO_AGENT  # reset when the command ended
    with open_ledger(load_settings(str(run.tmp_path / "data"))) as lg:
        events = all_events(lg.main)
    assert events and {getattr(e, "actor_os_user", ME) for e in events} == {ME}
    assert {getattr(e, "actor_via", None) for e in events} == {None}


def test_the_access_log_shows_how_each_actor_reached_the_ledger(run) -> None:  # type: ignore[no-untyped-def]
    note_id = setup_practice(run)
    run("note", "show", note_id, "--as", "dr-lee", "--purpose", "TREAT")
    log = json.loads(run("access-log", "--as", "admin", "--store", "main", "--json").output)
    assert log and {(r["actor_via"], r["actor_os_user"]) for r in log} == {(None, ME)}
    assert list(log[0]) == sorted(log[0])  # the JSON keys, sorted: both fields are there


def test_the_os_user_is_the_effective_uids_not_the_environments(tmp_path: Path) -> None:
    """``USER`` and ``LOGNAME`` are the caller's to set: they are not believed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env.update(LEDGER_DATA_DIR=str(tmp_path / "d"), USER="mallory", LOGNAME="mallory")
    for args in (["init"], ["staff", "add", "--id", "a", "--name", "A", "--role", "admin"]):
        done = subprocess.run([sys.executable, "-m", "cli", *args], text=True,
                              capture_output=True, env=env, cwd=ROOT, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
    with open_ledger(load_settings(str(tmp_path / "d"))) as lg:
        recorded = [e.actor_os_user for e in all_events(lg.main)  # type: ignore[attr-defined]
                    if hasattr(e, "actor_os_user")]
    assert recorded == [ME] and ME != "mallory"


def test_a_uid_without_a_name_is_recorded_by_number(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_entry(uid: int) -> object:
        raise KeyError(uid)

    monkeypatch.setattr(pwd, "getpwuid", no_entry)
    assert context.os_user() == f"uid:{os.geteuid()}"
