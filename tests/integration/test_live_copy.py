"""A live copy: ``ledger backup`` while writers are busy in other threads on both stores.
The copy verifies clean, restores, and is consistent across the stores: every client a
psychotherapy note in the copy names is registered in the main store's copy."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from pathlib import Path

from eventsourcing.utils import get_topic

from ledger.aggregates.psychotherapy_note import PsychotherapyNote
from ledger.bootstrap import open_ledger
from ledger.errors import Busy
from ledger.services.backup import take_backup
from ledger.services.integrity import verify_read_only
from ledger.services.restore import restore
from ledger.settings import Settings
from tests.conftest import AT, seed


def writer(settings: Settings, name: str, stop: threading.Event, count: list[int]) -> None:
    """New clients, each with a progress note and a psychotherapy note, until stopped."""
    with open_ledger(settings) as lg:
        i = 0
        while not stop.is_set():
            ref = f"{name}-{i}"
            try:
                lg.clients.register(ref, "Client", date(1980, 1, 1), "CA", by="desk", at=AT)
                lg.notes.write(ref, "progress", by="dr-lee", session_date=None, at=AT)
                lg.psychotherapy.write(ref, "process", by="dr-lee", session_date=None, at=AT)
            except Busy:
                continue
            i += 1
            count[0] += 1


def test_a_backup_taken_while_writers_run_verifies_and_restores(
        settings: Settings, tmp_path: Path) -> None:
    with open_ledger(settings) as lg:
        seed(lg, AT)
        lg.integrity.checkpoint(at=AT)
    stop = threading.Event()
    counts = [[0], [0]]
    threads = [threading.Thread(target=writer, args=(settings, f"W{n}", stop, counts[n]))
               for n in range(2)]
    for t in threads:
        t.start()
    try:
        while sum(c[0] for c in counts) < 6:  # writes in flight before and during the copy
            threading.Event().wait(0.05)
        taken = take_backup(settings, tmp_path / "backup", at=AT + timedelta(minutes=1))
        after = sum(c[0] for c in counts)
        while sum(c[0] for c in counts) < after + 4:  # and after it
            threading.Event().wait(0.05)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert taken.stores["main"].events > 0 and taken.stores["psychotherapy"].events > 0

    results = {r.store: r for r in restore(settings, tmp_path / "backup",
                                           at=AT + timedelta(minutes=2), force=True)}
    assert results["main"].restored_to == taken.stores["main"].events
    assert results["main"].lost > 0  # the writes after the copy
    assert all(r.ok for r in verify_read_only(settings, at=AT + timedelta(minutes=3)))
    with open_ledger(settings) as lg:
        topic = get_topic(PsychotherapyNote.Written)
        named = [lg.pn.event_log.decode(n).client_id  # type: ignore[attr-defined]
                 for n in lg.pn.event_log.scan([topic])]
        assert named, "the copy holds psychotherapy notes"
        assert all(lg.main.client_exists(c) for c in named)
