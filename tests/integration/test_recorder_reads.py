"""The chained recorder's own aggregate read (one Core statement per shape) answers as the
library's ORM query does, for every filter, order and limit the library accepts, inside
and outside a write transaction."""

from __future__ import annotations

import uuid
from typing import Any, cast

from eventsourcing_sqlalchemy.recorders import SQLAlchemyAggregateRecorder

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
