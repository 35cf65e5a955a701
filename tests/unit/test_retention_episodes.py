"""Retention from the facts as they happened: service days, a state and license per episode
of care, anchors per rule from the episodes it governs.

Each worked case computes its expected date by hand from its row of
``state_retention.csv`` (the years and the minor rule read from the row, the dates added
here), never from the engine. The property tests run over random episode histories under
the rules the product ships.
"""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.rules import retention as rules
from ledger.rules import retention_engine as engine
from ledger.rules.retention_engine import Episode, Facts, Record

RULES = rules.load()
TABLE = Path(__file__).resolve().parents[1] / "data" / "state_retention.csv"


def row(state: str, profession_starts: str) -> dict[str, str]:
    with TABLE.open(encoding="utf-8") as f:
        (found,) = [r for r in csv.DictReader(f) if r["state"] == state
                    and r["profession"].startswith(profession_starts) and r["verified"] == "yes"]
    return found


def years_after(day: date, years: int) -> date:
    return day.replace(year=day.year + years)  # no 29 February in these cases


def test_michigan_keeps_each_record_seven_years_from_its_date_of_service() -> None:
    """MCL 333.16213(1): 7 years from the date of service to which the record pertains.
    Sessions in 2015 and 2017, the notes typed into the ledger in 2026: the record goes
    7 years after the last session, not 7 years after the typing (which gave 2033)."""
    mi = row("MI", "All Article 15")
    assert mi["adult_years"] == "7" and "date of service" in mi["adult_anchor"]
    last_session = date(2017, 6, 20)
    facts = Facts("MI", date(1980, 4, 2), (
        Episode("lpc", None, date(2015, 1, 12), last_session, "termination"),),
        records=(Record(date(2015, 3, 2), date(2026, 11, 2)),
                 Record(last_session, date(2026, 11, 3))))
    e = engine.explain(RULES, facts)
    assert e.winner is not None and e.winner.rule.id == "MI-article-15"
    assert e.winner.rule.citation == mi["citation"]
    assert e.destroy_on == years_after(last_session, int(mi["adult_years"]))  # 2024-06-20
    # A record without a service day counts from the day it was entered: the late typing.
    undated = Facts("MI", date(1980, 4, 2), facts.episodes,
                    records=(Record(None, date(2026, 11, 3)),))
    assert engine.explain(RULES, undated).destroy_on == date(2033, 11, 3)


def test_a_client_seen_in_washington_as_a_minor_and_later_in_pennsylvania() -> None:
    """The WA psychologist rule (until 22, or 8 years after the last contact, whichever is
    longer) governs the WA episode; the PA rule (5 years after the last service) the PA
    one. The longer wins: destroying on the PA date would be four years early."""
    wa, pa = row("WA", "Psychologist"), row("PA", "Psychologist")
    assert (wa["adult_years"], pa["adult_years"]) == ("8", "5")
    assert "until client reaches 22" in wa["minor_rule"]
    dob = date(2005, 3, 3)
    wa_end, pa_end = date(2016, 8, 31), date(2018, 7, 1)
    facts = Facts("PA", dob, (
        Episode("psychologist", None, date(2014, 1, 6), wa_end, "termination", "WA"),
        Episode("psychologist", None, date(2017, 1, 9), pa_end, "termination", "PA")),
        records=(Record(date(2016, 8, 30), date(2016, 8, 30)),
                 Record(date(2018, 6, 28), date(2018, 6, 29))))
    e = engine.explain(RULES, facts)
    wa_until = max(years_after(wa_end, 8), years_after(dob, 22))  # 2027-03-03
    pa_until = years_after(pa_end, 5)  # 2023-07-01
    by_rule = {r.rule.id: r for r in e.rules}
    assert by_rule["WA-psychologist"].keep_until == wa_until == date(2027, 3, 3)
    assert by_rule["PA-psychologist"].keep_until == pa_until == date(2023, 7, 1)
    assert e.winner is not None and e.winner.rule.id == "WA-psychologist"
    assert e.destroy_on == wa_until
    assert by_rule["WA-psychologist"].rule.citation == wa["citation"]
    # Each rule's anchor comes from its own episode, not the client's last one.
    assert by_rule["WA-psychologist"].anchor == wa_end
    assert by_rule["PA-psychologist"].anchor == pa_end
    # Registered in PA with no state on the episodes (as before states were recorded):
    # only PA's rule, and the early date the issue reported.
    stateless = Facts("PA", dob, tuple(Episode(e.license, None, e.start, e.end, e.end_kind)
                                       for e in facts.episodes), records=facts.records)
    assert engine.explain(RULES, stateless).destroy_on == pa_until


def test_an_lpc_rule_takes_its_anchor_from_the_lpc_episode_only() -> None:
    """PA: a counselor's records 5 years after the last entry; a psychologist's 5 years
    after the last service. The counselor's rule no longer runs from the end of the
    psychologist's later episode."""
    lpc = row("PA", "Professional counselor")
    lpc_end = date(2012, 3, 30)
    facts = Facts("PA", date(1970, 1, 1), (
        Episode("lpc", None, date(2010, 1, 4), lpc_end, "termination"),
        Episode("psychologist", None, date(2015, 1, 5), date(2019, 5, 31), "termination")),
        records=(Record(date(2012, 3, 29), date(2012, 4, 2)),  # entered after the end
                 Record(date(2019, 5, 30), date(2019, 5, 31))))
    e = engine.explain(RULES, facts)
    (pa_lpc,) = [r for r in e.rules if r.rule.id == "PA-lpc"]
    assert pa_lpc.anchor == date(2012, 4, 2)  # the LPC record's entry, after the end
    assert pa_lpc.keep_until == years_after(date(2012, 4, 2), int(lpc["adult_years"]))
    assert [(ep.license, ep.start) for ep in pa_lpc.episodes] == [("lpc", date(2010, 1, 4))]


def test_a_fact_no_episode_can_hold_blocks_the_date() -> None:
    base = (Episode("lpc", None, date(2015, 1, 12), date(2017, 6, 20), "termination"),)
    outside = Facts("MI", date(1980, 4, 2), base,
                    records=(Record(date(2018, 1, 5), date(2018, 1, 5)),))
    assert engine.explain(RULES, outside).blocked == (
        "a record of a service on 2018-01-05 lies outside every episode of care; record the "
        "episode it belongs to")
    early_contact = Facts("MI", date(1980, 4, 2), base, contacts=(date(2014, 12, 1),))
    assert engine.explain(RULES, early_contact).blocked == (
        "the contact on 2014-12-01 precedes every episode of care; record the episode it "
        "belongs to")
    # A contact after discharge (a follow-up) belongs to the care begun before it.
    follow_up = Facts("MI", date(1980, 4, 2), base, contacts=(date(2018, 2, 1),))
    assert engine.explain(RULES, follow_up).destroy_on == date(2025, 2, 1)


# ----- properties over random episode histories -----------------------------------------------

STATES = sorted({r.jurisdiction for r in RULES} - {"*"} | {"IL", "OH"})
FIRST, LAST = date(1990, 1, 1), date(2026, 11, 1)


@st.composite
def episodes(draw: st.DrawFn, dob: date) -> Episode:
    start = draw(st.dates(max(dob, FIRST), LAST - timedelta(days=1)))
    end = draw(st.dates(start, min(start + timedelta(days=6 * 365), LAST)))
    return Episode(draw(st.sampled_from(rules.LICENSES)),
                   draw(st.none() | st.sampled_from(rules.FACILITIES)), start, end,
                   draw(st.sampled_from(["discharge", "termination"])),
                   draw(st.none() | st.sampled_from(STATES)))


@st.composite
def histories(draw: st.DrawFn) -> tuple[Facts, Episode]:
    """A client with closed episodes of care, records and contacts that each belong to
    one of them, and one more episode to add."""
    dob = draw(st.dates(date(1950, 1, 1), date(2015, 1, 1)))
    eps = tuple(draw(st.lists(episodes(dob), min_size=1, max_size=4)))
    records, contacts = [], []
    for _ in range(draw(st.integers(0, 6))):
        e = draw(st.sampled_from(eps))
        assert e.end is not None
        service = draw(st.none() | st.dates(e.start, e.end))
        entered = draw(st.dates(service or e.start, min((service or e.start)
                                                        + timedelta(days=900), LAST)))
        records.append(Record(service, entered))
    for _ in range(draw(st.integers(0, 3))):
        e = draw(st.sampled_from(eps))
        contacts.append(draw(st.dates(e.start, LAST)))
    facts = Facts(draw(st.sampled_from(STATES)), dob, eps, tuple(contacts), tuple(records))
    return facts, draw(episodes(dob))


def alone(facts: Facts, episode: Episode) -> Facts:
    """The client as if ``episode`` were their only one, with the facts that belong to it."""
    contacts, records = engine.attributed(facts, (episode,))
    return Facts(facts.jurisdiction, facts.dob, (episode,), tuple(contacts), tuple(records))


@settings(max_examples=300, deadline=None)
@given(histories())
def test_never_earlier_than_any_rule_for_any_episode(history: tuple[Facts, Episode]) -> None:
    facts, _ = history
    e = engine.explain(RULES, facts)
    assert e.destroy_on is not None, e.blocked
    for episode in facts.episodes:
        single = engine.explain(RULES, alone(facts, episode))
        for r in single.rules:
            assert e.destroy_on >= engine.effective(r), (episode, r.rule.id)


@settings(max_examples=300, deadline=None)
@given(histories())
def test_adding_an_episode_never_brings_the_date_earlier(
        history: tuple[Facts, Episode]) -> None:
    facts, extra = history
    before = engine.explain(RULES, facts)
    after = engine.explain(RULES, Facts(facts.jurisdiction, facts.dob,
                                        (*facts.episodes, extra), facts.contacts,
                                        facts.records))
    assert before.destroy_on is not None and after.destroy_on is not None
    assert after.destroy_on >= before.destroy_on


@pytest.mark.parametrize("rule", [r for r in RULES if r.minor is not None], ids=lambda r: r.id)
def test_every_shipped_minor_rule_is_monotone_in_its_anchor(rule: rules.Rule) -> None:
    """What the two properties rest on: a later anchor never gives a rule an earlier date.
    A minor clause applies while the client is a minor at the anchor; it must never give
    more than the adult term from the age of majority, or passing majority would shorten
    the rule. Checked for every minor rule shipped."""
    assert rule.minor is not None and rule.minor.combine == "later"
    extra = rule.minor.value if rule.minor.kind == "majority-plus" else (
        rule.minor.value - rule.majority_age)
    assert extra <= rule.adult_years
