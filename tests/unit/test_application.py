"""Application services on the in-memory store: records, refusals, versions, privileges."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from ledger.aggregates.staff import StaffMember
from ledger.bootstrap import Ledger
from ledger.errors import BadInput, NotFound, Refused
from tests.conftest import AT, all_events, audit_entries, seed

LATER = AT + timedelta(days=3)


def last_audit(app: Ledger) -> Any:
    return audit_entries(app)[-1]


def test_read_is_recorded_before_content_returns(memory_lg: Ledger) -> None:
    seed(memory_lg)
    note_id = memory_lg.notes.write("C-1", "text one", by="dr-lee", session_date=None, at=AT)
    before = len(audit_entries(memory_lg))
    content = memory_lg.notes.read(note_id, by="dr-kim", purpose="TREAT", version=None, at=LATER)
    assert content.text == "text one"
    entries = audit_entries(memory_lg)
    assert len(entries) == before + 1
    entry = entries[-1]
    assert (entry.action, entry.outcome, entry.purpose) == ("access", "granted", "TREAT")
    assert (entry.actor_id, entry.actor_role) == ("dr-kim", "clinician")
    assert entry.object_id == str(note_id)
    assert entry.client_id == memory_lg.client_id("C-1")
    assert entry.version == 1
    assert entry.timestamp == LATER


@pytest.mark.parametrize(("actor", "purpose", "reason"), [
    ("bill", "TREAT", "role billing may not read notes for purpose TREAT"),
    ("desk", "TREAT", "role front-desk may not read notes for purpose TREAT"),
    ("admin", "HSYSADMIN", "role admin may not read notes for purpose HSYSADMIN"),
    ("dr-lee", "HPAYMT", "role clinician may not read notes for purpose HPAYMT"),
    ("nobody", "TREAT", "unknown staff id"),
])
def test_refused_reads_are_recorded(memory_lg: Ledger, actor: str, purpose: str,
                                    reason: str) -> None:
    seed(memory_lg)
    note_id = memory_lg.notes.write("C-1", "text", by="dr-lee", session_date=None, at=AT)
    with pytest.raises(Refused, match=f"refused: {reason}"):
        memory_lg.notes.read(note_id, by=actor, purpose=purpose, version=None, at=LATER)
    entry = last_audit(memory_lg)
    assert (entry.action, entry.outcome, entry.reason) == ("access", "denied", reason)
    assert entry.actor_id == actor
    assert entry.object_id == str(note_id)


def test_permitted_non_treatment_reads(memory_lg: Ledger) -> None:
    seed(memory_lg)
    note_id = memory_lg.notes.write("C-1", "text", by="dr-lee", session_date=None, at=AT)
    for actor, purpose in [("bill", "HPAYMT"), ("comp", "HCOMPL"), ("sup", "TRAIN")]:
        assert memory_lg.notes.read(note_id, by=actor, purpose=purpose, version=None,
                                    at=AT).text == "text"


def test_read_of_missing_note_is_recorded(memory_lg: Ledger) -> None:
    seed(memory_lg)
    missing = uuid4()
    with pytest.raises(NotFound, match=f"note {missing} not found"):
        memory_lg.notes.read(missing, by="dr-lee", purpose="TREAT", version=None, at=AT)
    entry = last_audit(memory_lg)
    assert (entry.outcome, entry.object_id) == ("not-found", str(missing))


def test_unknown_purpose_is_bad_input(memory_lg: Ledger) -> None:
    seed(memory_lg)
    note_id = memory_lg.notes.write("C-1", "text", by="dr-lee", session_date=None, at=AT)
    with pytest.raises(BadInput, match="unknown purpose of use 'TREATMENT'"):
        memory_lg.notes.read(note_id, by="dr-lee", purpose="TREATMENT", version=None, at=AT)


def test_amendment_keeps_every_version(memory_lg: Ledger) -> None:
    seed(memory_lg)
    note_id = memory_lg.notes.write("C-1", "v1 text", by="dr-lee",
                                    session_date=date(2026, 1, 14), at=AT)
    assert memory_lg.notes.amend(note_id, "v2 text", "typo", by="dr-lee", at=AT) == 2
    assert memory_lg.notes.amend(note_id, "v3 text", "review", by="sup", at=LATER) == 3
    read = [memory_lg.notes.read(note_id, by="dr-lee", purpose="TREAT", version=v, at=LATER)
            for v in (1, 2, 3, None)]
    assert [r.text for r in read] == ["v1 text", "v2 text", "v3 text", "v3 text"]
    assert [r.amendment_reason for r in read] == [None, "typo", "review", "review"]
    assert read[2].written_at == LATER
    assert read[0].session_date == "2026-01-14"
    assert [e.version for e in audit_entries(memory_lg)[-4:]] == [1, 2, 3, 3]
    with pytest.raises(NotFound, match="has no version 4"):
        memory_lg.notes.read(note_id, by="dr-lee", purpose="TREAT", version=4, at=LATER)


def test_only_author_or_supervisor_amends(memory_lg: Ledger) -> None:
    seed(memory_lg)
    note_id = memory_lg.notes.write("C-1", "text", by="dr-lee", session_date=None, at=AT)
    with pytest.raises(Refused, match="only the note's author or a supervisor may amend it"):
        memory_lg.notes.amend(note_id, "other", "mine now", by="dr-kim", at=AT)
    assert last_audit(memory_lg).action == "amend"
    with pytest.raises(Refused, match="role billing may not write clinical notes"):
        memory_lg.notes.amend(note_id, "other", "x", by="bill", at=AT)


def test_amendment_needs_reason_and_text(memory_lg: Ledger) -> None:
    seed(memory_lg)
    note_id = memory_lg.notes.write("C-1", "text", by="dr-lee", session_date=None, at=AT)
    with pytest.raises(BadInput, match="an amendment needs a reason"):
        memory_lg.notes.amend(note_id, "new", "  ", by="dr-lee", at=AT)
    with pytest.raises(BadInput, match="note text is empty"):
        memory_lg.notes.amend(note_id, " \n", "r", by="dr-lee", at=AT)


def test_write_refusals_and_validation(memory_lg: Ledger) -> None:
    seed(memory_lg)
    with pytest.raises(Refused, match="role front-desk may not write clinical notes"):
        memory_lg.notes.write("C-1", "text", by="desk", session_date=None, at=AT)
    entry = last_audit(memory_lg)
    assert (entry.action, entry.outcome) == ("originate", "denied")
    with pytest.raises(NotFound, match="client C-404 not found"):
        memory_lg.notes.write("C-404", "text", by="dr-lee", session_date=None, at=AT)
    with pytest.raises(BadInput, match="note text is empty"):
        memory_lg.notes.write("C-1", "", by="dr-lee", session_date=None, at=AT)


def test_list_notes_is_recorded(memory_lg: Ledger) -> None:
    seed(memory_lg)
    ids = [memory_lg.notes.write("C-1", f"n{i}", by="dr-lee", session_date=None, at=AT)
           for i in range(3)]
    notes = memory_lg.notes.list_notes("C-1", by="sup", at=LATER)
    assert [n.note_id for n in notes] == ids
    assert (last_audit(memory_lg).action, last_audit(memory_lg).outcome) == ("list", "granted")
    with pytest.raises(Refused, match="role front-desk may not list clinical notes"):
        memory_lg.notes.list_notes("C-1", by="desk", at=LATER)


def test_staff_bootstrap_and_privilege_changes(memory_lg: Ledger) -> None:
    memory_lg.staff.add("root", "Root", "admin", by=None, at=AT)
    with pytest.raises(BadInput, match="staff already exist"):
        memory_lg.staff.add("sneaky", "S", "admin", by=None, at=AT)
    memory_lg.staff.add("dr", "Dr", "clinician", by="root", at=AT)
    with pytest.raises(Refused, match="role clinician may not manage staff"):
        memory_lg.staff.add("x", "X", "admin", by="dr", at=AT)
    with pytest.raises(BadInput, match="staff dr already exists"):
        memory_lg.staff.add("dr", "Dr", "clinician", by="root", at=AT)
    memory_lg.staff.set_role("dr", "supervisor", by="root", at=LATER)
    memory_lg.staff.deactivate("dr", by="root", at=LATER)
    changes = [e for e in all_events(memory_lg)
               if isinstance(e, StaffMember.Event) and e.originator_id ==
               StaffMember.id_for("dr")]
    assert [type(e).__name__ for e in changes] == ["Added", "RoleChanged", "Deactivated"]
    assert all(e.actor_id == "root" and e.actor_role == "admin" for e in changes)
    assert changes[1].old_role == "clinician" and changes[1].new_role == "supervisor"
    assert [(s.staff_id, s.role, s.active) for s in memory_lg.staff.list_staff()] == [
        ("dr", "supervisor", False), ("root", "admin", True)]
    with pytest.raises(BadInput, match="unknown role 'wizard'"):
        memory_lg.staff.add("w", "W", "wizard", by="root", at=AT)


def test_deactivated_staff_lose_access(memory_lg: Ledger) -> None:
    seed(memory_lg)
    note_id = memory_lg.notes.write("C-1", "text", by="dr-lee", session_date=None, at=AT)
    memory_lg.staff.deactivate("dr-lee", by="admin", at=AT)
    with pytest.raises(Refused, match="staff member is deactivated"):
        memory_lg.notes.read(note_id, by="dr-lee", purpose="TREAT", version=None, at=LATER)


def test_client_validation(memory_lg: Ledger) -> None:
    seed(memory_lg)
    with pytest.raises(BadInput, match="client C-1 already exists"):
        memory_lg.clients.register("C-1", "Other", date(2000, 1, 1), "CA", by="desk", at=AT)
    with pytest.raises(BadInput, match="unknown state 'XX'"):
        memory_lg.clients.register("C-2", "Other", date(2000, 1, 1), "XX", by="desk", at=AT)
    with pytest.raises(BadInput, match="date of birth is in the future"):
        memory_lg.clients.register("C-2", "Other", date(2030, 1, 1), "CA", by="desk", at=AT)
    with pytest.raises(Refused, match="role billing may not register clients"):
        memory_lg.clients.register("C-2", "Other", date(2000, 1, 1), "CA", by="bill", at=AT)


def test_event_times_are_the_given_utc_times(memory_lg: Ledger) -> None:
    then = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)
    seed(memory_lg, at=then)
    events = all_events(memory_lg)
    assert events and all(e.timestamp == then for e in events)  # type: ignore[attr-defined]
    assert all(e.timestamp.utcoffset() == timedelta(0) for e in events)  # type: ignore[attr-defined]


def test_naive_times_are_refused(memory_lg: Ledger) -> None:
    with pytest.raises(BadInput, match="times must be timezone-aware"):
        memory_lg.staff.add("root", "Root", "admin", by=None, at=datetime(2026, 1, 1))


# ----- break-the-glass ------------------------------------------------------------------------


def test_break_the_glass_grants_and_flags_the_read(memory_lg: Ledger) -> None:
    seed(memory_lg)
    note_id = memory_lg.notes.write("C-1", "text", by="dr-lee", session_date=None, at=AT)
    with pytest.raises(Refused, match="role front-desk may not read notes for purpose TREAT"):
        memory_lg.notes.read(note_id, by="desk", purpose="TREAT", version=None, at=AT)
    content = memory_lg.notes.read(note_id, by="desk", purpose="TREAT", version=None, at=AT,
                                   break_glass_reason="client collapsed")
    assert content.text == "text"
    entry = audit_entries(memory_lg)[-1]
    assert (entry.outcome, entry.actor_id, entry.break_glass, entry.reason) == (  # type: ignore[attr-defined]
        "granted", "desk", True, "client collapsed")
    ordinary = memory_lg.notes.read(note_id, by="dr-lee", purpose="TREAT", version=None, at=AT)
    assert ordinary.text == "text"
    assert audit_entries(memory_lg)[-1].break_glass is False  # type: ignore[attr-defined]
    flagged = [r for r in memory_lg.audit.access_log(by="comp", at=AT,
                                                     stores=("main",)) if r.break_glass]
    assert [(r.actor_id, r.reason) for r in flagged] == [("desk", "client collapsed")]


def test_break_the_glass_needs_a_reason_and_an_active_staff_member(
        memory_lg: Ledger) -> None:
    seed(memory_lg)
    note_id = memory_lg.notes.write("C-1", "text", by="dr-lee", session_date=None, at=AT)
    before = len(all_events(memory_lg))
    with pytest.raises(BadInput, match=r"^break-the-glass needs a --reason$"):
        memory_lg.notes.read(note_id, by="desk", purpose="TREAT", version=None, at=AT,
                             break_glass_reason="  ")
    assert len(all_events(memory_lg)) == before
    memory_lg.staff.deactivate("desk", by="admin", at=AT)
    for who, reason in (("desk", "staff member is deactivated"), ("ghost", "unknown staff id")):
        with pytest.raises(Refused, match=rf"^refused: {reason} "):
            memory_lg.notes.read(note_id, by=who, purpose="TREAT", version=None, at=AT,
                                 break_glass_reason="emergency")
        assert audit_entries(memory_lg)[-1].outcome == "denied"  # type: ignore[attr-defined]


def test_an_audit_entry_stored_before_break_glass_existed_reads_as_not_flagged(
        memory_lg: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    """Upcasting: version-1 audit entries (no ``break_glass``) decode with the flag off."""
    from ledger.aggregates.audit import AuditEntry

    entry = AuditEntry.record(action="access", outcome="granted", object_type="progress-note",
                              at=AT)
    (event,) = entry.collect_events()
    del event.__dict__["break_glass"]
    monkeypatch.setattr(AuditEntry.Recorded, "class_version", 1)
    stored = memory_lg.main.mapper.to_stored_event(event)
    monkeypatch.setattr(AuditEntry.Recorded, "class_version", 2)
    decoded = memory_lg.main.mapper.to_domain_event(stored)
    assert isinstance(decoded, AuditEntry.Recorded)
    assert decoded.break_glass is False
    assert decoded.action == "access"


def test_break_the_glass_is_for_treatment_only(memory_lg: Ledger) -> None:
    seed(memory_lg)
    note_id = memory_lg.notes.write("C-1", "text", by="dr-lee", session_date=None, at=AT)
    with pytest.raises(Refused, match=r"^refused: break-the-glass is for immediately needed "
                       r"treatment"):
        memory_lg.notes.read(note_id, by="bill", purpose="HMARKT", version=None, at=AT,
                             break_glass_reason="curious")
    entry = audit_entries(memory_lg)[-1]
    assert (entry.outcome, entry.break_glass) == ("denied", True)  # type: ignore[attr-defined]
    assert entry.reason.endswith("break-the-glass reason given: curious")  # type: ignore[attr-defined]
    for purpose in ("TREAT", "ETREAT", "BTG"):
        memory_lg.notes.read(note_id, by="bill", purpose=purpose, version=None, at=AT,
                             break_glass_reason="seizure in the lobby")
