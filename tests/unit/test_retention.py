"""The retention desk over both stores: facts, holds and the plan across decades."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from ledger.aggregates.audit import AuditEntry
from ledger.bootstrap import Ledger
from ledger.errors import BadInput, NotFound, Refused
from tests.conftest import AT, all_events, seed


def on(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T12:00:00+00:00")


def register(lg: Ledger, ref: str, dob: str, state: str, at: datetime) -> None:
    lg.clients.register(ref, f"Client {ref}", date.fromisoformat(dob), state, by="desk", at=at)


def test_a_practice_across_decades(memory_lg: Ledger) -> None:
    """Clients seen as minors and adults in several states, episodes closing at different
    dates, a hold placed and released: each is due on exactly the right day."""
    t0 = on("2000-01-10")
    seed(memory_lg, t0)
    register(memory_lg, "CA-adult", "1960-01-01", "CA", t0)
    register(memory_lg, "CA-minor", "1995-06-15", "CA", t0)
    register(memory_lg, "NY-minor", "1992-03-01", "NY", t0)
    register(memory_lg, "CO-lpc-minor", "1994-09-09", "CO", t0)
    cases = {
        # client: (license, start, end, expected destruction day)
        "CA-adult": ("psychologist", "2000-02-01", "2003-05-05", "2010-05-05"),
        "CA-minor": ("psychologist", "2000-02-01", "2004-01-01", "2020-06-15"),
        "NY-minor": ("lcsw", "2000-02-01", "2002-01-01", "2014-03-01"),
        "CO-lpc-minor": ("lpc", "2000-02-01", "2001-01-01", "2013-01-01"),  # capped
    }
    for ref, (license, start, end, _) in cases.items():
        memory_lg.clients.open_episode(ref, license=license, facility=None,
                                       start=date.fromisoformat(start),
                                       by="desk", at=on(start))
        memory_lg.notes.write(ref, "note", by="dr-lee", session_date=None, at=on(start))
        memory_lg.clients.close_episode(ref, end=date.fromisoformat(end), kind="discharge",
                                        by="desk",
                                        at=on(end))
    # NY's rule runs from the last entry: a psychotherapy note written later counts too.
    memory_lg.psychotherapy.write("NY-minor", "process", by="dr-lee", session_date=None,
                                  at=on("2002-01-01"))
    desk = memory_lg.retention
    hold = memory_lg.retention.place_hold(["CA-adult"], matter="Roe v. Clinic", reason="litigation",
                                          by="comp", at=on("2009-01-01"))

    def status(ref: str, day: str) -> str:
        return desk.schedule(memory_lg.client_id(ref), on(day)).status

    for ref, (*_, due) in cases.items():
        destroy = date.fromisoformat(due)
        assert desk.schedule(memory_lg.client_id(ref), on(due)).explanation.destroy_on == destroy
        before = date.fromordinal(destroy.toordinal() - 1).isoformat()
        assert status(ref, before) == "retained", ref
        assert status(ref, due) == ("held" if ref == "CA-adult" else "due"), ref
    memory_lg.retention.release_hold(hold.hold_id, reason="settled", by="comp", at=on("2012-01-01"))
    assert status("CA-adult", "2011-12-31") == "held"
    assert status("CA-adult", "2012-01-01") == "due"
    plan = desk.plan(by="comp", at=on("2030-01-01"))
    # Earliest destruction first; C-1 (seeded, no episode) has no date and comes last.
    assert [(s.client_id, s.status) for s in plan] == [
        (memory_lg.client_id(ref), "due") for ref in
        ("CA-adult", "CO-lpc-minor", "NY-minor", "CA-minor")] + [
        (memory_lg.client_id("C-1"), "no date")]


def test_explain_and_plan_are_recorded_and_limited_to_retention_officers(
        memory_lg: Ledger) -> None:
    main = memory_lg.main
    seed(memory_lg)
    desk = memory_lg.retention
    schedule = desk.explain("C-1", by="comp", at=AT, as_of=on("2090-01-01"))
    assert schedule.status == "no date" and schedule.why == "no episode of care recorded"
    entry = [e for e in all_events(main) if isinstance(e, AuditEntry.Recorded)][-1]
    assert (entry.action, entry.object_type, entry.timestamp) == ("access", "retention", AT)
    with pytest.raises(Refused, match=r"^refused: role billing may not manage retention"):
        desk.plan(by="bill", at=AT)
    with pytest.raises(NotFound, match=r"^client C-404 not found$"):
        desk.explain("C-404", by="comp", at=AT)


def test_client_facts_are_validated(memory_lg: Ledger) -> None:
    seed(memory_lg)
    with pytest.raises(BadInput, match=r"^unknown license 'shaman'; use one of "):
        memory_lg.clients.open_episode("C-1", license="shaman", facility=None, start=date(2020, 1,
                                                                                          1),
                                       by="desk", at=AT)
    with pytest.raises(BadInput, match=r"^no episode of care is open$"):
        memory_lg.clients.close_episode("C-1", end=date(2020, 1, 1), kind="discharge", by="desk",
                                        at=AT)
    memory_lg.clients.open_episode("C-1", license="lmft", facility=None, start=date(2020, 1, 1),
                                   by="desk", at=AT)
    with pytest.raises(BadInput, match=r"^an episode of care is already open"):
        memory_lg.clients.open_episode("C-1", license="lmft", facility=None, start=date(2020, 1, 1),
                                       by="desk", at=AT)
    with pytest.raises(BadInput, match=r"^the episode's end date must lie between"):
        memory_lg.clients.close_episode("C-1", end=date(2019, 1, 1), kind="discharge", by="desk",
                                        at=AT)
    with pytest.raises(BadInput, match=r"^the contact date is in the future$"):
        memory_lg.clients.record_contact("C-1", on=date(2027, 1, 1), by="desk", at=AT)
    with pytest.raises(Refused, match=r"^refused: role billing may not register clients"):
        memory_lg.clients.record_contact("C-1", on=date(2020, 1, 1), by="bill", at=AT)


def test_holds(memory_lg: Ledger) -> None:
    seed(memory_lg)
    register(memory_lg, "C-2", "1980-01-01", "NY", AT)
    with pytest.raises(Refused, match=r"^refused: role clinician may not manage retention"):
        memory_lg.retention.place_hold(["C-1"], matter=None, reason="r", by="dr-lee", at=AT)
    with pytest.raises(NotFound, match=r"^client C-9 not found$"):
        memory_lg.retention.place_hold(["C-1", "C-9"], matter="m", reason="r", by="comp", at=AT)
    held = memory_lg.retention.place_hold(["C-1", "C-2"], matter="Audit 2026", reason="OCR audit",
                                          by="comp", at=AT)
    assert set(held.client_ids) == {memory_lg.client_id("C-1"), memory_lg.client_id("C-2")}
    assert [h.hold_id for h in memory_lg.retention.holds_on(memory_lg.client_id("C-2"),
                                                            AT)] == [held.hold_id]
    released = memory_lg.retention.release_hold(held.hold_id, reason="closed", by="comp",
                                                at=datetime(2026, 2, 1, tzinfo=UTC))
    assert released.release_reason == "closed"
    with pytest.raises(BadInput, match=r"was already released$"):
        memory_lg.retention.release_hold(held.hold_id, reason="again", by="comp",
                                         at=datetime(2026, 2, 2, tzinfo=UTC))
    assert memory_lg.retention.holds_on(memory_lg.client_id("C-2"), datetime(2026, 3, 1,
                                                                       tzinfo=UTC)) == []


def test_a_precondition_blocks_until_recorded_then_its_waiting_period(
        memory_lg: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    """MA c.123 facilities: notify DPH before destroying (M.G.L. c.123 §36). A waiting
    period, as a rule may give one, runs from the notice."""
    t0 = on("2000-01-10")
    seed(memory_lg, t0)
    register(memory_lg, "MA-1", "1970-01-01", "MA", t0)
    memory_lg.clients.open_episode("MA-1", license="lmhc", facility="mh-facility",
                                   start=date(2000, 2, 1), by="desk", at=on("2000-02-01"))
    memory_lg.clients.close_episode("MA-1", end=date(2001, 1, 1), kind="discharge", by="desk",
                                    at=on("2001-01-01"))
    desk = memory_lg.retention
    client_id = memory_lg.client_id("MA-1")
    schedule = desk.schedule(client_id, on("2030-01-01"))
    assert schedule.explanation is not None
    assert schedule.explanation.destroy_on == date(2021, 1, 1)
    assert (schedule.status, schedule.why) == (
        "blocked", "open precondition: MA-c123-facility: notify Massachusetts Department of "
                   "Public Health before destroying")
    assert desk.run(by="comp", at=on("2030-01-01")) == []
    with pytest.raises(BadInput, match=r"^rule MA-allied-mh has no notify-agency"):
        memory_lg.retention.record_precondition("MA-1", rule_id="MA-allied-mh",
                                                kind="notify-agency",
                                                done_on=date(2029, 12, 1), note="x", by="comp",
                                                at=on("2030-01-01"))
    memory_lg.retention.record_precondition("MA-1", rule_id="MA-c123-facility",
                                            kind="notify-agency",
                                            done_on=date(2029, 12,
                                                         1), note="DPH letter 29-4", by="comp",
                                            at=on("2030-01-01"))
    assert desk.schedule(client_id, on("2030-01-01")).status == "due"
    # The same rule with a 30-day waiting period: due 30 days after the notice.
    from ledger.rules import retention as rules_module
    waiting = tuple(
        r if r.id != "MA-c123-facility" else type(r)(**{
            **r.__dict__, "preconditions": (rules_module.Precondition(
                "notify-agency", agency="DPH", waiting_days=30),)})
        for r in desk.rules)
    monkeypatch.setattr(desk, "rules", waiting)
    assert desk.schedule(client_id, on("2029-12-30")).status == "blocked"
    assert desk.schedule(client_id, on("2029-12-31")).status == "due"
    assert len(desk.run(by="comp", at=on("2030-01-01"))) == 1
    assert desk.schedule(client_id, on("2030-01-02")).status == "destroyed"
