"""A client's timeline across both stores, with its retention events, on SQLite and
PostgreSQL: in time order, without PHI, readable after the client's purge (the receipts
last), refused to a clinician and not-found for an unknown client, each recorded."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from ledger.aggregates.audit import AuditEntry
from ledger.bootstrap import Ledger, initialise, open_ledger
from ledger.errors import BadInput, NotFound, Refused
from ledger.settings import Settings
from ledger.views import Timeline
from tests.conftest import audit_entries, seed

T0 = datetime.fromisoformat("2010-03-01T12:00:00+00:00")
DUE = datetime.fromisoformat("2020-01-01T12:00:00+00:00")
PN = "psychotherapy"


def day(n: int) -> datetime:
    return T0 + timedelta(days=n)


def history(lg: Ledger) -> None:
    """One client's life: notes in both stores, an amendment, a refusal, a break-the-glass
    read, a disclosure, a hold placed and released, a precondition, a discharge."""
    seed(lg, T0)
    lg.clients.register("P-7", "Mary Secret", date(1970, 1, 1), "CA", by="desk", at=T0)
    lg.clients.open_episode("P-7", license="psychologist", facility=None,
                            start=date(2010, 3, 1), by="desk", at=T0)
    note = lg.notes.write("P-7", "hears voices at night", by="dr-lee", session_date=None,
                          at=day(1))
    pn_note = lg.psychotherapy.write("P-7", "process secret", by="dr-lee", session_date=None,
                                     at=day(2))
    lg.notes.amend(note, "hears voices at dusk", "wrong time", by="dr-lee", at=day(3))
    with pytest.raises(Refused, match="refused"):
        lg.psychotherapy.read(pn_note, by="dr-kim", purpose="TREAT", at=day(4))
    lg.notes.read(note, by="dr-kim", purpose="TREAT", at=day(5),
                  break_glass_reason="client in crisis")
    lg.notes.disclose("P-7", [note], by="comp", recipient="County Coroner Jones",
                      recipient_type="coroner", purpose="PUBHLTH", exception="CORONER_512g1",
                      assertion="written request on file", at=day(6))
    hold = lg.retention.place_hold(["P-7"], matter="Roe v. Secret", reason="subpoena",
                                   by="comp", at=day(7))
    lg.retention.release_hold(hold.hold_id, reason="settled", by="comp", at=day(8))
    lg.retention.record_precondition("P-7", rule_id="MA-c123-facility", kind="notify-agency",
                                     done_on=date(2010, 3, 10), note="DPH letter ref 14",
                                     by="comp", at=day(9))
    lg.clients.close_episode("P-7", end=date(2010, 6, 1), kind="discharge", by="desk",
                             at=day(92))


def kinds(timeline: Timeline) -> list[tuple[str, str]]:
    return [(i.store, i.kind) for i in timeline.items]


def test_timeline_of_a_client_then_after_the_purge(settings: Settings) -> None:
    initialise(settings, T0)
    with open_ledger(settings) as lg:
        history(lg)
        timeline = lg.audit.timeline("P-7", by="comp", at=day(100))
        before = kinds(timeline)
        assert before == [
            ("main", "registration"), ("main", "amendment"),  # the episode opened
            ("main", "origination"), (PN, "origination"), ("main", "amendment"),
            (PN, "refusal"), ("main", "break-the-glass"), ("main", "disclosure"),
            ("main", "hold"), ("main", "hold-release"), ("main", "precondition"),
            ("main", "amendment")]  # the episode closed
        ats = [i.at for i in timeline.items]
        assert ats == sorted(ats)
        shown = " ".join(f"{i.description} {i.object_id} {i.actor}" for i in timeline.items)
        for phi in ("P-7", "Mary", "Secret", "voices", "Jones", "crisis", "subpoena",
                    "DPH letter"):
            assert phi not in shown
        disclosure = timeline.items[7]
        assert (disclosure.actor, disclosure.role, disclosure.purpose) == (
            "comp", "compliance", "PUBHLTH")
        assert disclosure.description == ("disclose progress-note to a recipient of type "
                                          "coroner under CORONER_512g1")
        # The period: only the days asked for.
        week = lg.audit.timeline("P-7", by="comp", at=day(100), since=day(4).date(),
                                 until=day(7).date())
        assert [k for _, k in kinds(week)] == ["refusal", "break-the-glass", "disclosure",
                                               "hold"]

        lg.retention.run(by="comp", at=DUE)
        after = lg.audit.timeline("P-7", by="comp", at=DUE + timedelta(hours=1))
    # Audit metadata outlives the purge: everything is still there, the two readings made
    # before it too (each recorded in both stores), and the two receipts come last.
    assert kinds(after)[:len(before)] == before
    assert kinds(after)[len(before):] == [
        ("main", "use"), ("main", "use"), (PN, "use"), (PN, "use"),
        ("main", "destruction"), (PN, "destruction")]
    assert after.items[-1].description.startswith("content destroyed under rule CA-")


def test_a_clinician_is_refused_and_the_refusal_recorded(memory_lg: Ledger) -> None:
    seed(memory_lg)
    with pytest.raises(Refused, match="role clinician may not read the timeline"):
        memory_lg.audit.timeline("C-1", by="dr-lee", at=T0 + timedelta(days=6000))
    last = audit_entries(memory_lg)[-1]
    assert isinstance(last, AuditEntry.Recorded)
    assert (last.action, last.object_type, last.outcome, last.actor_id) == (
        "list", "timeline", "denied", "dr-lee")


def test_an_unknown_client_is_not_found_and_recorded(memory_lg: Ledger) -> None:
    seed(memory_lg)
    with pytest.raises(NotFound, match=r"^client not found$"):
        memory_lg.audit.timeline("C-404", by="comp", at=T0 + timedelta(days=6000))
    last = audit_entries(memory_lg)[-1]
    assert isinstance(last, AuditEntry.Recorded)
    assert (last.object_type, last.outcome, last.client_id) == (
        "timeline", "not-found", memory_lg.client_id("C-404"))


def test_a_period_that_ends_before_it_starts_is_refused(memory_lg: Ledger) -> None:
    seed(memory_lg)
    with pytest.raises(BadInput, match="--from is after --to"):
        memory_lg.audit.timeline("C-1", by="comp", at=T0 + timedelta(days=6000),
                                 since=date(2020, 1, 2), until=date(2020, 1, 1))
