"""Retried writes never double (issue 12, defect 3): a request id names what a write
creates, so a retry, or a second process racing the first, gets the first result."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest

from ledger.aggregates.disclosure import Disclosure
from ledger.aggregates.progress_note import ProgressNote
from ledger.aggregates.psychotherapy_note import PsychotherapyNote
from ledger.bootstrap import Ledger, open_ledger
from ledger.errors import BadInput, Refused
from ledger.settings import Settings
from tests.conftest import all_events, seed

T0 = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)


def kinds(store: object, kind: type) -> int:
    return sum(isinstance(e, kind) for e in all_events(store))  # type: ignore[arg-type]


def coroner(lg: Ledger, note: object, request_id: str | None, *, to: str = "County Coroner"
            ) -> object:
    return lg.notes.disclose("C-1", [note], by="comp", recipient=to,  # type: ignore[list-item]
                             recipient_type="coroner", purpose="PUBHLTH",
                             exception="CORONER_512g1", assertion="ME request 26-114",
                             at=T0, request_id=request_id)


def test_a_retried_note_write_returns_the_first_note_and_records_nothing(
        memory_lg: Ledger) -> None:
    seed(memory_lg, T0)
    first = memory_lg.notes.write("C-1", "session one", by="dr-lee", session_date=None,
                                  at=T0, request_id="ehr-7")
    events = len(all_events(memory_lg.main))
    again = memory_lg.notes.write("C-1", "session one", by="dr-lee", session_date=None,
                                  at=T0, request_id="ehr-7")
    assert again == first and len(all_events(memory_lg.main)) == events
    other = memory_lg.notes.write("C-1", "session one", by="sup", session_date=None,
                                  at=T0, request_id="ehr-7")  # another person's request
    assert other != first
    assert kinds(memory_lg.main, ProgressNote.Written) == 2
    with pytest.raises(BadInput, match=r"^request id ehr-7 was already used for another "
                       r"request \(note [0-9a-f-]+\); give a new request id$"):
        memory_lg.notes.write("C-1", "another text", by="dr-lee", session_date=None, at=T0,
                              request_id="ehr-7")
    without = [memory_lg.notes.write("C-1", "x", by="dr-lee", session_date=None, at=T0)
               for _ in range(2)]
    assert without[0] != without[1]  # no request id: two notes, as asked


def test_a_retried_pn_write_returns_the_first_note(memory_lg: Ledger) -> None:
    seed(memory_lg, T0)
    ids = {memory_lg.psychotherapy.write("C-1", "process", by="dr-lee", session_date=None,
                                         at=T0, request_id="r-1") for _ in range(3)}
    assert len(ids) == 1 and kinds(memory_lg.pn, PsychotherapyNote.Written) == 1


def test_a_retried_disclosure_returns_the_first_release_and_is_accounted_once(
        memory_lg: Ledger) -> None:
    seed(memory_lg, T0)
    note = memory_lg.notes.write("C-1", "progress text", by="dr-lee", session_date=None, at=T0)
    first = coroner(memory_lg, note, "req-1")
    memory_lg.notes.amend(note, "amended text", "typo", by="dr-lee", at=T0)
    again = coroner(memory_lg, note, "req-1")
    assert again.disclosure_id == first.disclosure_id  # type: ignore[attr-defined]
    # The content first released, not the amended version.
    assert [(n.version, n.text) for n in again.notes] == [  # type: ignore[attr-defined]
        (1, "progress text")]
    assert kinds(memory_lg.main, Disclosure.Recorded) == 1
    accounting = memory_lg.audit.accounting("C-1", by="comp", at=T0)
    assert [line.count for line in accounting.lines] == [1]
    with pytest.raises(BadInput, match=r"^request id req-1 was already used for another "
                       r"request \(disclosure "):
        coroner(memory_lg, note, "req-1", to="Someone Else")


def test_a_retried_refusal_stays_refused_and_is_recorded_once(memory_lg: Ledger) -> None:
    seed(memory_lg, T0)
    pn = memory_lg.psychotherapy.write("C-1", "process", by="dr-lee", session_date=None, at=T0)
    for _ in range(2):
        with pytest.raises(Refused, match=r"^refused: REQUIRED_BY_LAW_512a is invoked only by "
                           r"compliance staff \(the attempt was recorded\)$"):
            memory_lg.psychotherapy.disclose(
                "C-1", [pn], by="dr-kim", recipient="Me Myself",
                recipient_type="law-enforcement", purpose="LEGAL", at=T0,
                exception="REQUIRED_BY_LAW_512a", assertion="trust me", request_id="x-1")
    assert kinds(memory_lg.pn, Disclosure.Recorded) == 1


def test_a_malformed_request_id_is_bad_input_and_records_nothing(memory_lg: Ledger) -> None:
    seed(memory_lg, T0)
    events = len(all_events(memory_lg.main))
    for bad in ("", "a b", "x" * 129, "-leading", "line\nbreak"):
        with pytest.raises(BadInput, match=r"^a request id is 1 to 128 letters"):
            memory_lg.notes.write("C-1", "t", by="dr-lee", session_date=None, at=T0,
                                  request_id=bad)
    assert len(all_events(memory_lg.main)) == events


def race(settings: Settings, work: Callable[[Ledger], object], n: int = 4) -> list[object]:
    """``work`` in ``n`` threads, each on its own opened ledger, started together."""
    ledgers = [open_ledger(settings) for _ in range(n)]
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def one(k: int) -> None:
        barrier.wait()
        try:
            results[k] = work(ledgers[k])
        except Exception as e:
            results[k] = e

    threads = [threading.Thread(target=one, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for lg in ledgers:
        lg.close()
    return results


def test_racing_retries_of_one_request_commit_once(lg: Ledger, settings: Settings) -> None:
    seed(lg, T0)
    lg.clients.register("C-2", "John Doe", date(1980, 2, 2), "NY", by="desk", at=T0)
    note = lg.notes.write("C-1", "progress text", by="dr-lee", session_date=None, at=T0)
    releases = race(settings, lambda other: coroner(other, note, "race-1"))
    assert not [r for r in releases if isinstance(r, Exception)], releases
    assert len({r.disclosure_id for r in releases}) == 1  # type: ignore[attr-defined]
    written = race(settings, lambda other: other.notes.write(
        "C-2", "same text", by="dr-kim", session_date=None, at=T0, request_id="race-2"))
    assert not [r for r in written if isinstance(r, Exception)], written
    assert len(set(written)) == 1
    assert kinds(lg.main, Disclosure.Recorded) == 1
    assert kinds(lg.main, ProgressNote.Written) == 2
    assert lg.main.verify().ok
