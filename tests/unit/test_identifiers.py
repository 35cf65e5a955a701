"""Identifiers have one documented pattern each, checked where they enter: a malformed
staff id, client id or code is bad input and is never stored; a well-formed unknown staff
id is still a recorded refusal."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.bootstrap import Ledger
from ledger.display import escape, shown
from ledger.errors import BadInput, Refused
from ledger.identifiers import check_client_ref, check_code, check_staff_id
from ledger.queries import Query
from tests.conftest import AT, all_events, seed

GOOD = ["a", "dr-lee", "C-1001", "ann.lee@clinic.example", "X_1", "9", "a" * 64]
BAD = ["", " ", "a" * 65, "a b", "dr-lee\n", "a\tb", "a\x00", "-x", ".x", "@x", "é",
       "dr\u2028lee", "a\udcff", "C/1", "../x", "x;y"]


@pytest.mark.parametrize("value", GOOD)
def test_well_formed_ids_pass(value: str) -> None:
    assert check_staff_id(value) == value
    assert check_client_ref(value) == value


@pytest.mark.parametrize("value", BAD)
def test_malformed_ids_are_bad_input_and_not_echoed(value: str) -> None:
    with pytest.raises(BadInput, match=r"^a staff id must be 1 to 64 letters, digits and "
                                       r"\. _ @ -, starting with a letter or digit$"):
        check_staff_id(value)
    with pytest.raises(BadInput, match=r"^a client id must be 1 to 64 letters"):
        check_client_ref(value)


def test_codes() -> None:
    assert check_code("MA-c123-facility", "a rule id") == "MA-c123-facility"
    with pytest.raises(BadInput, match=r"^a rule id must be 1 to 64 letters, digits and "
                                       r"_ \. -, starting with a letter or digit; "
                                       r"got 'a\\nb'$"):
        check_code("a\nb", "a rule id")


def test_shown_escapes_and_bounds() -> None:
    assert escape("a\\b\tc\nd\re\x00\x7f\x85\u2028\udcff é") == (
        "a\\\\b\\tc\\nd\\re\\x00\\x7f\\x85\\u2028\\udcff é")
    assert shown("x" * 100) == "'" + "x" * 80 + "'..."


def count(lg: Ledger) -> tuple[int, int]:
    return len(all_events(lg.main)), len(all_events(lg.pn))


def test_a_malformed_acting_id_is_never_recorded(memory_lg: Ledger) -> None:
    seed(memory_lg)
    note = memory_lg.notes.write("C-1", "text", by="dr-lee", session_date=None, at=AT)
    before = count(memory_lg)
    for by in ("x" * 201, "dr-lee\nadmin", ""):
        with pytest.raises(BadInput, match=r"^the acting staff id must be 1 to 64 letters"):
            memory_lg.notes.read(note, by=by, purpose="TREAT", version=None, at=AT)
        with pytest.raises(BadInput, match=r"^the acting staff id must be"):
            memory_lg.audit.access_log(by=by, at=AT)
        with pytest.raises(BadInput, match=r"^the acting staff id must be"):
            memory_lg.psychotherapy.list_notes("C-1", by=by, at=AT)
    assert count(memory_lg) == before
    # Well-formed but unknown: a refusal, recorded (as before).
    with pytest.raises(Refused):
        memory_lg.notes.read(note, by="nobody", purpose="TREAT", version=None, at=AT)
    assert count(memory_lg)[0] == before[0] + 1


def test_malformed_staff_and_client_ids_are_never_stored(memory_lg: Ledger) -> None:
    seed(memory_lg)
    before = count(memory_lg)
    with pytest.raises(BadInput, match=r"^a staff id must be"):
        memory_lg.staff.add("x" * 65, "X", "clinician", by="admin", at=AT)
    with pytest.raises(BadInput, match=r"^a staff id must be"):
        memory_lg.staff.set_role("a\tb", "supervisor", by="admin", at=AT)
    with pytest.raises(BadInput, match=r"^a client id must be"):
        memory_lg.clients.register("C 2", "Jane", date(1990, 1, 1), "CA", by="desk", at=AT)
    with pytest.raises(BadInput, match=r"^a client id must be"):
        memory_lg.notes.write("C-1\n", "t", by="dr-lee", session_date=None, at=AT)
    with pytest.raises(BadInput, match=r"^a client id must be"):
        memory_lg.retention.place_hold(["C-1", "C\x00"], matter=None, reason="r", by="comp",
                                       at=AT)
    with pytest.raises(BadInput, match=r"^the staff id to filter by must be"):
        memory_lg.audit.access_log(by="comp", at=AT, query=Query(staff_id="x" * 201))
    assert count(memory_lg) == before


def test_the_bootstrap_checks_the_id_too(memory_lg: Ledger) -> None:
    with pytest.raises(BadInput, match=r"^a staff id must be"):
        memory_lg.staff.add("admin\n", "Ada", "admin", by=None, at=AT)
    assert count(memory_lg) == (0, 0)
