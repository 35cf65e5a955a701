"""The sealed psychotherapy-note store: separation, who may do what, every read recorded."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from ledger.aggregates.audit import AuditEntry
from ledger.aggregates.psychotherapy_note import PsychotherapyNote
from ledger.aggregates.record_dates import RecordDates
from ledger.bootstrap import Ledger
from ledger.errors import BadInput, NotFound, Refused
from ledger.stores.psychotherapy import PsychotherapyStore
from tests.conftest import AT, all_events, audit_entries, seed


def pn_written(lg: Ledger, text: str = "process notes") -> UUID:
    seed(lg)
    return lg.psychotherapy.write("C-1", text, by="dr-lee", session_date=None, at=AT)


def last_entry(pn: PsychotherapyStore) -> AuditEntry.Recorded:
    entry = audit_entries(pn)[-1]
    assert isinstance(entry, AuditEntry.Recorded)
    return entry


def test_notes_and_their_events_live_only_in_the_sealed_store(memory_lg: Ledger) -> None:
    main, pn = memory_lg.main, memory_lg.pn
    before = len(all_events(main))
    note_id = pn_written(memory_lg)
    main_after_seed = len(all_events(main))
    memory_lg.psychotherapy.read(note_id, by="dr-lee", purpose="TREAT", at=AT)
    assert len(all_events(main)) == main_after_seed > before  # only the seeding
    kinds = [type(e).__qualname__ for e in all_events(pn)]
    assert kinds == ["PsychotherapyNote.Written", "RecordDates.Recorded", "AuditEntry.Recorded",
                     "AuditEntry.Recorded"]
    assert not any(isinstance(e, PsychotherapyNote.Written | RecordDates.Recorded)
                   for e in all_events(main))


def test_the_originator_reads_for_treatment_without_more(memory_lg: Ledger) -> None:
    pn = memory_lg.pn
    note_id = pn_written(memory_lg, "she spoke of her father")
    content = memory_lg.psychotherapy.read(note_id, by="dr-lee", purpose="TREAT", at=AT)
    assert content.text == "she spoke of her father"
    entry = last_entry(pn)
    assert (entry.action, entry.outcome, entry.actor_id, entry.purpose) == (
        "access", "granted", "dr-lee", "TREAT")
    assert entry.reason == "ORIGINATOR_TREATMENT (45 CFR 164.508(a)(2)(i)(A))"


@pytest.mark.parametrize(("by", "purpose", "reason"), [
    ("dr-kim", "TREAT", "only the originating clinician reads a psychotherapy note"),
    ("sup", "TREAT", "only the originating clinician reads a psychotherapy note"),
    ("dr-lee", "HOPERAT", "only the originating clinician reads a psychotherapy note"),
    ("bill", "HPAYMT", "a payer never receives a psychotherapy note"),
    ("dr-lee", "HPAYMT", "a payer never receives a psychotherapy note"),
    ("desk", "TREAT", "role front-desk may not use or disclose psychotherapy notes"),
    ("admin", "TREAT", "role admin may not use or disclose psychotherapy notes"),
    ("nobody", "TREAT", "unknown staff id"),
])
def test_everyone_else_is_refused_without_a_basis_and_the_refusal_is_recorded(
        memory_lg: Ledger, by: str, purpose: str, reason: str) -> None:
    pn = memory_lg.pn
    note_id = pn_written(memory_lg)
    with pytest.raises(Refused, match=f"^refused: {reason}.*\\(the attempt was recorded\\)$"):
        memory_lg.psychotherapy.read(note_id, by=by, purpose=purpose, at=AT)
    entry = last_entry(pn)
    assert (entry.action, entry.outcome, entry.actor_id, entry.object_id) == (
        "access", "denied", by, str(note_id))
    assert entry.reason is not None and entry.reason.startswith(reason)


@pytest.mark.parametrize(("by", "purpose", "exception", "refusal"), [
    ("sup", "TRAIN", "SUPERVISED_TRAINING", None),
    ("dr-lee", "TRAIN", "SUPERVISED_TRAINING", None),
    ("dr-kim", "TRAIN", "SUPERVISED_TRAINING",
     "SUPERVISED_TRAINING is invoked only by the note's originator or supervisor staff"),
    # issue 12: the purpose is checked against the exception
    ("sup", "PUBHLTH", "SUPERVISED_TRAINING", "SUPERVISED_TRAINING is for purpose TRAIN"),
    ("dr-lee", "HOPERAT", "ORIGINATOR_TREATMENT",
     "ORIGINATOR_TREATMENT is for purpose ERTREAT or ETREAT or TREAT"),
    ("comp", "HLEGAL", "DEFENSE_OF_ACTION_BY_INDIVIDUAL", None),
    ("sup", "HLEGAL", "DEFENSE_OF_ACTION_BY_INDIVIDUAL",
     "DEFENSE_OF_ACTION_BY_INDIVIDUAL is invoked only by compliance staff"),
    ("sup", "TREAT", "ORIGINATOR_TREATMENT",
     "ORIGINATOR_TREATMENT is invoked only by the note's originator"),
    ("comp", "LEGAL", "REQUIRED_BY_LAW_512a",  # a disclosure basis, not a use
     r"REQUIRED_BY_LAW_512a does not permit release to a member of this practice's workforce"),
    ("comp", "HCOMPL", "NOT_AN_EXCEPTION",
     "NOT_AN_EXCEPTION is not one of the 164.508\\(a\\)\\(2\\) exceptions"),
])
def test_exceptions_for_internal_use(memory_lg: Ledger, by: str, purpose: str,
                                     exception: str, refusal: str | None) -> None:
    granted = refusal is None
    pn = memory_lg.pn
    note_id = pn_written(memory_lg)
    if granted:
        assert memory_lg.psychotherapy.read(note_id, by=by, purpose=purpose, exception=exception,
                                            at=AT).text == "process notes"
        assert last_entry(pn).reason is not None
        assert last_entry(pn).reason.startswith(exception)  # type: ignore[union-attr]
    else:
        with pytest.raises(Refused, match=f"^refused: {refusal}"):
            memory_lg.psychotherapy.read(note_id, by=by, purpose=purpose, exception=exception,
                                         at=AT)
    assert last_entry(pn).outcome == ("granted" if granted else "denied")


def test_break_the_glass_never_opens_a_psychotherapy_note(memory_lg: Ledger) -> None:
    pn = memory_lg.pn
    note_id = pn_written(memory_lg)
    with pytest.raises(Refused, match=r"^refused: break-the-glass never opens a psychotherapy"):
        memory_lg.psychotherapy.read(note_id, by="dr-lee", purpose="TREAT",
                                     break_glass_reason="crisis", at=AT)
    assert last_entry(pn).outcome == "denied"


def test_a_missing_note_is_recorded_as_not_found(memory_lg: Ledger) -> None:
    pn = memory_lg.pn
    pn_written(memory_lg)
    missing = uuid4()
    with pytest.raises(NotFound, match=f"^psychotherapy note {missing} not found$"):
        memory_lg.psychotherapy.read(missing, by="dr-lee", purpose="TREAT", at=AT)
    assert (last_entry(pn).outcome, last_entry(pn).object_id) == ("not-found", str(missing))


def test_only_clinicians_and_supervisors_write_and_only_the_originator_amends(
        memory_lg: Ledger) -> None:
    note_id = pn_written(memory_lg)
    for by in ("bill", "desk", "comp", "admin"):
        with pytest.raises(Refused, match=f"^refused: role {by_role(by)} may not write "
                           "psychotherapy notes"):
            memory_lg.psychotherapy.write("C-1", "x", by=by, session_date=None, at=AT)
    with pytest.raises(Refused, match=r"^refused: only the note's originator may amend"):
        memory_lg.psychotherapy.amend(note_id, "changed", "why", by="sup", at=AT)
    assert memory_lg.psychotherapy.amend(note_id, "v2", "added detail", by="dr-lee", at=AT) == 2
    assert memory_lg.psychotherapy.read(note_id, by="dr-lee", purpose="TREAT", version=1,
                                        at=AT).text == "process notes"
    assert memory_lg.psychotherapy.read(note_id, by="dr-lee", purpose="TREAT", at=AT).text == "v2"
    with pytest.raises(NotFound, match=r"^client C-404 not found$"):
        memory_lg.psychotherapy.write("C-404", "x", by="dr-lee", session_date=None, at=AT)
    with pytest.raises(BadInput, match=r"^note text is empty$"):
        memory_lg.psychotherapy.write("C-1", "  ", by="dr-lee", session_date=None, at=AT)


def by_role(staff_id: str) -> str:
    return {"bill": "billing", "desk": "front-desk", "comp": "compliance",
            "admin": "admin"}[staff_id]


def test_a_deactivated_originator_can_no_longer_read(memory_lg: Ledger) -> None:
    note_id = pn_written(memory_lg)
    memory_lg.staff.deactivate("dr-lee", by="admin", at=AT)
    with pytest.raises(Refused, match=r"^refused: staff member is deactivated"):
        memory_lg.psychotherapy.read(note_id, by="dr-lee", purpose="TREAT",
                                     at=AT + timedelta(days=1))


def test_list_shows_a_clinician_only_their_own_notes(memory_lg: Ledger) -> None:
    pn = memory_lg.pn
    mine = pn_written(memory_lg)
    theirs = memory_lg.psychotherapy.write("C-1", "kim's", by="dr-kim", session_date=None, at=AT)
    assert [n.note_id for n in memory_lg.psychotherapy.list_notes("C-1", by="dr-lee",
                                                                  at=AT)] == [mine]
    assert {n.note_id for n in memory_lg.psychotherapy.list_notes("C-1", by="sup",
                                                                  at=AT)} == {mine, theirs}
    assert {n.note_id for n in memory_lg.psychotherapy.list_notes("C-1", by="comp",
                                                                  at=AT)} == {mine, theirs}
    with pytest.raises(Refused, match=r"^refused: role billing may not list psychotherapy"):
        memory_lg.psychotherapy.list_notes("C-1", by="bill", at=AT)
    assert last_entry(pn).outcome == "denied"


# ----- durable stores: own database, own tables, own key, own chain -----------------------


def test_a_refused_break_the_glass_attempt_is_flagged_with_its_reason(
        memory_lg: Ledger) -> None:
    pn = memory_lg.pn
    note_id = pn_written(memory_lg)
    with pytest.raises(Refused, match=r"^refused: break-the-glass never opens a psychotherapy "
                                      r"note") as refused:
        memory_lg.psychotherapy.read(note_id, by="sup", purpose="TREAT",
                                     break_glass_reason="client at risk",
                                     at=AT)
    assert "client at risk" not in str(refused.value)
    entry = last_entry(pn)
    assert (entry.outcome, entry.break_glass) == ("denied", True)
    assert entry.reason == ("break-the-glass never opens a psychotherapy note; "
                            "break-the-glass reason given: client at risk")
    with pytest.raises(BadInput, match=r"^break-the-glass needs a --reason$"):
        memory_lg.psychotherapy.read(note_id, by="sup", purpose="TREAT", break_glass_reason=" ",
                                     at=AT)
