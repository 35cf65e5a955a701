"""Read models: the record set through time, access history and accounting from indexed
projections that equal a rebuild from scratch, resume after a kill, and agree with the log."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from ledger.aggregates.audit import AuditEntry
from ledger.bootstrap import Ledger, open_ledger
from ledger.settings import Settings
from tests.conftest import AT, all_events, seed

ROOT = Path(__file__).resolve().parents[2]


def days(n: float) -> datetime:
    return AT + timedelta(days=n)


def test_record_set_as_of_before_and_after_an_amendment(lg: Ledger) -> None:
    main = lg.main
    seed(lg)
    note = lg.notes.write("C-1", "first", by="dr-lee", session_date=date(2026, 1, 14),
                          at=days(0))
    lg.notes.amend(note, "second", "corrected", by="dr-lee", at=days(10))
    later = lg.notes.write("C-1", "another", by="dr-kim", session_date=None, at=days(20))
    lg.psychotherapy.write("C-1", "sealed process note", by="dr-lee", session_date=None, at=days(1))

    def shown(as_of: datetime) -> list[tuple[str, int, str]]:
        rs = lg.records.record_set("C-1", by="comp", purpose="HOPERAT", at=days(30), as_of=as_of)
        return [(str(n.note_id), n.current.version, n.current.text) for n in rs.notes]

    assert shown(days(-1)) == []
    assert shown(days(5)) == [(str(note), 1, "first")]
    assert shown(days(10)) == [(str(note), 2, "second")]
    assert shown(days(25)) == [(str(note), 2, "second"), (str(later), 1, "another")]
    now = lg.records.record_set("C-1", by="comp", purpose="HOPERAT", at=days(30))
    assert [(v.version, v.amendment_reason) for v in now.notes[0].history] == [
        (1, None), (2, "corrected")]
    assert all("sealed" not in n.current.text for n in now.notes)
    entry = [e for e in all_events(main) if isinstance(e, AuditEntry.Recorded)][-1]
    assert (entry.action, entry.object_type, entry.outcome, entry.purpose) == (
        "access", "record-set", "granted", "HOPERAT")


def test_two_processes_catching_up_at_once_apply_each_event_once(settings: Settings) -> None:
    app = open_ledger(settings)
    try:
        seed(app)
        note = app.notes.write("C-1", "t", by="dr-lee", session_date=None, at=AT)
        for i in range(40):
            app.notes.read(note, by="dr-lee", purpose="TREAT", version=None, at=days(i))
    finally:
        app.close()
    apps = [open_ledger(settings) for _ in range(3)]
    try:
        threads = [threading.Thread(target=a.main.access_projection.catch_up, kwargs={"batch": 3})
                   for a in apps]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        rows = apps[0].main.access_projection.rows()
        assert len(rows) == len({r[0] for r in rows}) == apps[0].main.access_projection.count()
    finally:
        for a in apps:
            a.close()


KILLER = """
import sys
from ledger import settings as sm
from ledger.bootstrap import open_ledger
app = open_ledger(sm.load_settings(sys.argv[1]))


def progress(n):
    print("batch", flush=True)
app.main.access_projection.catch_up(batch=1, progress=progress)
print("done", flush=True)
"""


def test_a_projection_killed_mid_way_resumes_where_it_stopped(tmp_path: Path) -> None:
    from ledger.bootstrap import initialise
    settings_ = _sqlite_settings(tmp_path)
    initialise(settings_, AT)
    app = open_ledger(settings_)
    try:
        seed(app)
        note = app.notes.write("C-1", "t", by="dr-lee", session_date=None, at=AT)
        for i in range(60):
            app.notes.read(note, by="dr-lee", purpose="TREAT", version=None, at=days(i))
        total = app.main.access_projection.count()
    finally:
        app.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    for kill_after in (3, 17):
        proc = subprocess.Popen([sys.executable, "-c", KILLER, str(settings_.data_dir)],
                                stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env)
        assert proc.stdout is not None
        for _ in range(kill_after):
            assert proc.stdout.readline() == "batch\n"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        app = open_ledger(settings_)
        try:
            position = app.main.access_projection.position()
            assert len(app.main.access_projection.rows()) == app.main.access_projection.count(
                after=0) - app.main.access_projection.behind()
            assert position > 0
        finally:
            app.close()
    app = open_ledger(settings_)
    try:
        app.main.access_projection.catch_up()
        resumed = app.main.access_projection.rows()
        assert len(resumed) == total
        app.main.access_projection.rebuild()
        assert app.main.access_projection.rows() == resumed
    finally:
        app.close()


def test_several_processes_may_open_the_projections_at_once(settings: Settings) -> None:
    """First use creates the read tables; racing creators must not fail."""
    apps = [open_ledger(settings) for _ in range(4)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(apps))

    def first_use(app: Ledger) -> None:
        try:
            barrier.wait()
            app.main.access_projection.catch_up()
            app.main.record_set_projection.catch_up()
        except BaseException as e:
            errors.append(e)

    try:
        threads = [threading.Thread(target=first_use, args=(a,)) for a in apps]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
    finally:
        for a in apps:
            a.close()


def _sqlite_settings(tmp_path: Path) -> Settings:
    from ledger import settings as settings_module
    return settings_module.load_settings(str(tmp_path / "data"), environ={})


def test_a_catch_up_does_not_chase_what_writers_append_meanwhile(lg: Ledger) -> None:
    """A report catches up with what was logged when it asked; a read recorded while it
    applies a page waits for the next catch-up (issue 13: under a stream of writes, searches
    kept catching up and contended for the tracking row)."""
    seed(lg)
    note = lg.notes.write("C-1", "t", by="dr-lee", session_date=None, at=AT)
    projection = lg.main.access_projection
    projection.catch_up()
    for i in range(3):
        lg.notes.read(note, by="dr-lee", purpose="TREAT", at=days(i))
    assert projection.behind() == 3
    apply_batch = projection._apply_batch
    pages: list[int] = []
    writes = [days(5)]  # one read recorded while the first page is applied

    def applying_while_a_writer_appends(start: int, page: list[Any]) -> bool:
        pages.append(len(page))
        done = apply_batch(start, page)
        if writes:
            lg.notes.read(note, by="dr-lee", purpose="TREAT", at=writes.pop())
        return done

    projection._apply_batch = applying_while_a_writer_appends  # type: ignore[method-assign]
    assert projection.catch_up() == 3
    assert pages == [3] and projection.behind() == 1
    assert projection.catch_up() == 1
    assert projection.behind() == 0
    # A full page is not the end: the next page is read in the same catch-up.
    for i in range(5):
        lg.notes.read(note, by="dr-lee", purpose="TREAT", at=days(10 + i))
    pages.clear()
    assert projection.catch_up(batch=2) == 5
    assert pages == [2, 2, 1] and projection.behind() == 0
