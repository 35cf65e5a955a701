"""The chained recorder's own reads of an aggregate's events and of the notification log
(one Core statement per shape) answer as the library's ORM queries do, for every filter,
order and limit the library accepts, inside and outside a transaction."""

from __future__ import annotations

import uuid
from typing import Any, cast

from eventsourcing.utils import get_topic
from eventsourcing_sqlalchemy.recorders import (
    SQLAlchemyAggregateRecorder,
    SQLAlchemyApplicationRecorder,
)

from ledger.aggregates.audit import AuditEntry
from ledger.aggregates.progress_note import ProgressNote
from ledger.bootstrap import Ledger
from ledger.persistence.recorder import ChainedRecorder
from tests.conftest import AT, seed


def test_select_events_answers_as_the_library_does(lg: Ledger) -> None:
    seed(lg)
    note = lg.notes.write("C-1", "first", by="dr-lee", session_date=None, at=AT)
    for i in range(4):
        lg.notes.amend(note, f"version {i + 2}", "clarified", by="dr-lee", at=AT)
    recorder = cast(ChainedRecorder, lg.main.recorder)
    shapes: list[dict[str, Any]] = [
        {}, {"gt": 2}, {"lte": 3}, {"gt": 1, "lte": 4}, {"desc": True}, {"limit": 1},
        {"limit": 2, "desc": True}, {"gt": 1, "lte": 5, "desc": True, "limit": 2},
        {"gt": 5}, {"lte": 0}]
    for originator in (note, str(note), uuid.uuid4()):
        for shape in shapes:
            ours = recorder.select_events(originator, **shape)
            theirs = SQLAlchemyAggregateRecorder.select_events(recorder, originator, **shape)
            assert ours == theirs, shape
    assert [e.originator_version for e in recorder.select_events(note)] == [1, 2, 3, 4, 5]
    assert recorder.select_events(note, gt=1, lte=4, desc=True, limit=2)[0].originator_version \
        == 4
    assert recorder.select_events(note)[0].originator_id == note
    assert isinstance(recorder.select_events(note)[0].state, bytes)
    with recorder.transaction(commit=False):  # joins the transaction it is called in
        assert recorder.select_events(note, limit=1) == SQLAlchemyAggregateRecorder.select_events(
            recorder, note, limit=1)


def test_select_notifications_answers_as_the_library_does(lg: Ledger) -> None:
    seed(lg)
    note = lg.notes.write("C-1", "first", by="dr-lee", session_date=None, at=AT)
    for _ in range(3):
        lg.notes.read(note, by="dr-lee", purpose="TREAT", at=AT)
    recorder = cast(ChainedRecorder, lg.main.recorder)
    last = recorder.max_notification_id()
    assert last is not None and last > 10
    audit, written = get_topic(AuditEntry.Recorded), get_topic(ProgressNote.Written)
    shapes: list[tuple[int | None, int, dict[str, Any]]] = [
        (None, 100, {}), (1, 100, {}), (3, 4, {}), (3, 4, {"inclusive_of_start": False}),
        (2, 100, {"stop": last - 2}), (1, 100, {"topics": [audit]}),
        (1, 2, {"topics": [audit, written]}), (4, 100, {"topics": [written], "stop": last}),
        (None, 5, {"topics": ["no.such:Topic"]}), (last + 1, 10, {}), (1, 0, {}),
        (2, 3, {"stop": last, "topics": [audit], "inclusive_of_start": False})]
    for start, limit, kwargs in shapes:
        ours = recorder.select_notifications(start, limit, **kwargs)
        theirs = SQLAlchemyApplicationRecorder.select_notifications(recorder, start, limit,
                                                                    **kwargs)
        assert ours == theirs, (start, limit, kwargs)
    page = recorder.select_notifications(1, 100, topics=[written])
    assert [n.originator_id for n in page] == [note]
    assert isinstance(page[0].state, bytes)
