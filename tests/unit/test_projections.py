"""Read models: the record set through time, access history and accounting from indexed
projections that equal a rebuild from scratch, resume after a kill, and agree with the log."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import queries as access_log
from ledger.aggregates.audit import AuditEntry
from ledger.bootstrap import Ledger
from ledger.errors import BadInput, Refused
from ledger.rules.accounting import letter, six_years_before, summarise
from ledger.stores.main import MainStore
from tests.conftest import AT, all_events, open_memory_ledger, seed

ROOT = Path(__file__).resolve().parents[2]


def days(n: float) -> datetime:
    return AT + timedelta(days=n)


# ----- the designated record set, through time ---------------------------------------------


def test_record_set_is_refused_and_recorded_for_the_wrong_purpose(
        memory_lg: Ledger) -> None:
    main = memory_lg.main
    seed(memory_lg)
    with pytest.raises(Refused, match=r"^refused: role billing may not read notes for "
                       r"purpose HOPERAT"):
        memory_lg.records.record_set("C-1", by="bill", purpose="HOPERAT", at=AT)
    entry = [e for e in all_events(main) if isinstance(e, AuditEntry.Recorded)][-1]
    assert (entry.object_type, entry.outcome) == ("record-set", "denied")
    with pytest.raises(BadInput, match=r"^--as-of is in the future$"):
        memory_lg.records.record_set("C-1", by="comp", purpose="HOPERAT", at=AT, as_of=days(1))


def test_access_request_export_has_the_30_day_clock(memory_lg: Ledger) -> None:
    seed(memory_lg)
    memory_lg.notes.write("C-1", "text", by="dr-lee", session_date=None, at=AT)
    result = memory_lg.records.export_access_request("C-1", by="comp", received=date(2026, 1, 10),
                                                     at=AT)
    assert (result.due_on, result.latest_extended_due_on) == (date(2026, 2, 9),
                                                              date(2026, 3, 11))
    assert [n.current.text for n in result.record_set.notes] == ["text"]
    with pytest.raises(Refused, match=r"^refused: role billing may not handle "
                       r"right-of-access requests"):
        memory_lg.records.export_access_request("C-1", by="bill", received=date(2026, 1, 10), at=AT)
    with pytest.raises(BadInput, match=r"received date is in the future"):
        memory_lg.records.export_access_request("C-1", by="comp", received=date(2026, 2, 1), at=AT)


# ----- accounting of disclosures -----------------------------------------------------------


def test_accounting_lists_only_accountable_disclosures_in_the_six_years(
        memory_lg: Ledger) -> None:
    main, pn = memory_lg.main, memory_lg.pn
    seed(memory_lg, days(-3000))
    note = memory_lg.notes.write("C-1", "text", by="dr-lee", session_date=None, at=days(-3000))
    pn_note = memory_lg.psychotherapy.write("C-1", "pn", by="dr-lee", session_date=None,
                                            at=days(-3000))

    def coroner(at: datetime, to: str = "County Coroner") -> None:
        memory_lg.notes.disclose("C-1", [note], by="comp", recipient=to,
                                 recipient_address="1 Main St", recipient_type="coroner",
                                 purpose="PUBHLTH", exception="CORONER_512g1",
                                 assertion="written request on file", at=at)

    coroner(days(-6 * 365 - 10))                       # before the lookback
    coroner(days(-100))
    coroner(days(-50), to="county  CORONER")             # repeat: same recipient, purpose
    memory_lg.notes.disclose("C-1", [note], by="bill", recipient="Acme", recipient_type="payer",
                             purpose="HPAYMT", at=days(-40))   # payment: not accountable
    memory_lg.notes.disclose("C-1", [note], by="dr-lee", recipient="Jane Roe",
                             recipient_type="individual", purpose="PATRQT", at=days(-30))
    memory_lg.psychotherapy.disclose("C-1", [pn_note], by="comp", recipient="State Board",
                                     recipient_type="oversight-agency", purpose="HCOMPL",
                                     exception="OVERSIGHT_OF_ORIGINATOR_512d",
                                     assertion="written request on file", at=days(-20))
    entries = [*main.accountable_disclosures(memory_lg.client_id("C-1"), AT.date()),
               *pn.accountable_disclosures(memory_lg.client_id("C-1"), AT.date())]
    assert sorted((e.store, e.recipient) for e in entries) == [
        ("main", "County Coroner"), ("main", "county  CORONER"),
        ("psychotherapy", "State Board")]
    result = summarise(str(memory_lg.client_id("C-1")), AT.date(), entries)
    assert memory_lg.audit.accounting("C-1", by="comp", at=AT) == result  # the service
    assert [(line.first.recipient, line.count, line.last_at) for line in result.lines] == [
        ("County Coroner", 2, days(-50)), ("State Board", 1, days(-20))]
    text = letter(result)
    assert "Repeated: 2 disclosures to this recipient for this purpose; the last on" in text
    assert "1 Main St" in text and "45 CFR 164.512(g)(1)" in text
    assert result.period_start == date(2020, 1, 15)
    # An earlier request date moves the window (and takes in the oldest disclosure).
    early = main.accountable_disclosures(memory_lg.client_id("C-1"), days(-60).date())
    assert [e.disclosed_at for e in early] == [days(-6 * 365 - 10), days(-100)]
    assert memory_lg.audit.accounting("C-1", by="comp", at=AT, requested_on=days(
        -60).date()).lines[0].count == 2
    with pytest.raises(Refused, match=r"^refused: role billing may not read the accounting"):
        memory_lg.audit.accounting("C-1", by="bill", at=AT)


def test_an_amendment_is_never_dated_before_what_it_amends(memory_lg: Ledger) -> None:
    seed(memory_lg)
    note = memory_lg.notes.write("C-1", "t", by="dr-lee", session_date=None, at=days(5))
    pn_note = memory_lg.psychotherapy.write("C-1", "p", by="dr-lee", session_date=None, at=days(5))
    with pytest.raises(BadInput, match=r"^an amendment cannot be dated before the version"):
        memory_lg.notes.amend(note, "t2", "r", by="dr-lee", at=days(4))
    with pytest.raises(BadInput, match=r"^an amendment cannot be dated before the version"):
        memory_lg.psychotherapy.amend(pn_note, "p2", "r", by="dr-lee", at=days(4))


def test_six_years_before_a_leap_day() -> None:
    assert six_years_before(date(2028, 2, 29)) == date(2022, 2, 28)
    assert six_years_before(date(2026, 11, 27)) == date(2020, 11, 27)


# ----- projections equal a rebuild and agree with the log ----------------------------------

OPS = st.lists(st.tuples(
    st.sampled_from(["write", "amend", "read", "deny", "glass", "disclose", "catch-up",
                     "pn-write", "pn-read", "pn-deny"]),
    st.integers(0, 3), st.integers(0, 5)), min_size=1, max_size=25)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(OPS, st.integers(1, 4))
def test_projections_equal_a_rebuild_and_the_log_after_any_workload(
        ops: list[tuple[str, int, int]], batch: int) -> None:
    with open_memory_ledger() as lg:
        main, pn = lg.main, lg.pn
        seed(lg, AT)
        lg.clients.register("C-2", "John Doe", date(1980, 2, 2), "NY", by="desk", at=AT)
        notes: list[tuple[object, str]] = []
        pn_notes: list[object] = []
        # The model for the record set: each note's versions as (time, text).
        versions: dict[object, list[tuple[datetime, str]]] = {}
        for step, (kind, a, b) in enumerate(ops):
            at = days(step * 40)  # spans years, so the six-year window matters
            client = ("C-1", "C-2")[a % 2]
            if kind.startswith("pn-"):
                if kind == "pn-write" or not pn_notes:
                    pn_notes.append(lg.psychotherapy.write(client, "p", by="dr-lee",
                                                           session_date=None,
                                                           at=at))
                elif kind == "pn-read":
                    lg.psychotherapy.read(pn_notes[b % len(pn_notes)], by="dr-lee", purpose="TREAT",  # type: ignore[arg-type]
                                          at=at)
                else:
                    with pytest.raises(Refused, match="only the originating clinician"):
                        lg.psychotherapy.read(pn_notes[b % len(pn_notes)], by="sup",
                                              purpose="TREAT",  # type: ignore[arg-type]
                                              at=at)
                continue
            if kind == "write" or not notes:
                text = f"note {len(notes)} v1"
                notes.append((lg.notes.write(client, text, by="dr-lee", session_date=None,
                                             at=at), client))
                versions[notes[-1][0]] = [(at, text)]
                continue
            note, note_client = notes[b % len(notes)]
            if kind == "amend":
                text = f"{versions[note][0][1][:-3]} v{len(versions[note]) + 1}"
                lg.notes.amend(note, text, "r", by="dr-lee", at=at)  # type: ignore[arg-type]
                versions[note].append((at, text))
            elif kind == "read":
                lg.notes.read(note, by="dr-kim", purpose="TREAT", version=None, at=at)  # type: ignore[arg-type]
            elif kind == "deny":
                with pytest.raises(Refused, match="role front-desk may not read notes"):
                    lg.notes.read(note, by="desk", purpose="TREAT", version=None, at=at)  # type: ignore[arg-type]
            elif kind == "glass":
                lg.notes.read(note, by="desk", purpose="ETREAT", version=None, at=at,  # type: ignore[arg-type]
                              break_glass_reason="collapse")
            elif kind == "disclose":
                lg.notes.disclose(note_client, [note], by="comp", recipient=f"Coroner {a}",  # type: ignore[list-item]
                                  recipient_type="coroner", purpose="PUBHLTH",
                                  exception="CORONER_512g1",
                                  assertion="written request on file", at=at)
            else:
                main.access_projection.catch_up(batch=batch)
                main.record_set_projection.catch_up(batch=batch)
                pn.access_projection.catch_up(batch=batch)
        end = days(len(ops) * 40 + 1)
        # The record set at every moment a version was written, and just before it,
        # against the model.
        moments = sorted({t + d for vs in versions.values() for t, _ in vs
                          for d in (timedelta(0), timedelta(seconds=-1))})
        for moment in moments:
            for client in ("C-1", "C-2"):
                shown = {n.note_id: (n.current.version, n.current.text)
                         for n in lg.records.record_set(client, by="comp", purpose="HOPERAT",
                                                        at=end, as_of=moment).notes}
                expected = {}
                for note, note_client in notes:
                    upto = [text for t, text in versions[note] if t <= moment]
                    if note_client == client and upto:
                        expected[note] = (len(upto), upto[-1])
                assert shown == expected, (client, moment)
        for projection in (main.access_projection, main.record_set_projection,
                           pn.access_projection):
            projection.catch_up(batch=batch)
            incremental = projection.rows()  # type: ignore[attr-defined]
            projection.rebuild(batch=7)
            assert projection.rows() == incremental  # type: ignore[attr-defined]
            assert projection.behind() == 0
        pn_indexed = lg.audit.access_log(by="comp", at=end, stores=("pn",))
        pn_logged = lg.audit.access_log(by="comp", at=end, stores=("pn",), from_log=True)
        assert [r for r in pn_logged if r.object_type != "access-log"] == [
            r for r in pn_indexed if r.object_type != "access-log"]
        for query in (access_log.Query(),
                      access_log.Query(client_id=lg.client_id("C-2")),
                      access_log.Query(staff_id="desk", outcome="granted"),
                      access_log.Query(break_glass=True, sort="actor_id"),
                      access_log.Query(since=days(200).date(), until=days(600).date())):
            indexed = lg.audit.access_log(by="comp", at=end, query=query, stores=("main",))
            logged = lg.audit.access_log(by="comp", at=end, query=query, stores=("main",),
                                         from_log=True)
            # The second reading adds its own "list" entry: compare what both could see.
            assert logged[:len(indexed)] == indexed or logged == indexed, query
            assert [r for r in logged if r.object_type != "access-log"] == [
                r for r in indexed if r.object_type != "access-log"]
        for client in ("C-1", "C-2"):
            from_index = main.accountable_disclosures(lg.client_id(client), end.date())
            expected = [r for r in lg.audit.access_log(by="comp", at=end, stores=("main",),
                                                       from_log=True)
                        if r.action == "disclose" and r.accountable
                        and r.client_id == lg.client_id(client)
                        and r.at.date() >= six_years_before(end.date())]
            assert [e.disclosed_at for e in from_index] == [r.at for r in expected]


def test_a_read_model_holds_no_reason_or_recipient(memory_lg: Ledger) -> None:
    main = memory_lg.main
    seed(memory_lg)
    note = memory_lg.notes.write("C-1", "t", by="dr-lee", session_date=None, at=AT)
    memory_lg.notes.read(note, by="desk", purpose="TREAT", version=None, at=AT,
                         break_glass_reason="reason-marker-7f3a")
    memory_lg.notes.disclose("C-1", [note], by="comp", recipient="recipient-marker-9c1d",
                             recipient_type="coroner", purpose="PUBHLTH",
                             exception="CORONER_512g1",
                             assertion="written request on file", at=AT)
    main.access_projection.catch_up()
    flat = repr(main.access_projection.rows())
    assert "marker" not in flat
    records = memory_lg.audit.access_log(by="comp", at=AT, stores=("main",))
    assert {"reason-marker-7f3a", "recipient-marker-9c1d"} <= {
        v for r in records for v in (r.reason, r.recipient) if v}


def test_main_store_type_is_what_the_fixture_opens(memory_lg: Ledger) -> None:
    assert isinstance(memory_lg.main, MainStore)
    assert datetime.now(UTC) > AT
