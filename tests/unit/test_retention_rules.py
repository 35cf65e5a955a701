"""Retention rules as data: every verified reference row is encoded with its citation; a
malformed rule is a one-line error naming its line; the schedule follows the rule shapes."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.rules import retention as rules
from ledger.rules import retention_engine as engine
from ledger.rules.retention import RuleError, parse
from ledger.rules.retention_engine import Episode, Facts, Record

# A copy of ../shared/reference/state_retention.csv, so the check runs in any checkout;
# where the shared reference is beside the checkout, the copy must equal it.
SNAPSHOT = Path(__file__).resolve().parents[1] / "data" / "state_retention.csv"
REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "state_retention.csv"
RULES = rules.load()
BY_ID = {r.id: r for r in RULES}


def test_the_snapshot_of_the_reference_table_is_current() -> None:
    if REFERENCE.exists():
        assert SNAPSHOT.read_bytes() == REFERENCE.read_bytes()
    assert len(SNAPSHOT.read_text(encoding="utf-8").splitlines()) == 43  # header + 42 rows


def test_every_verified_reference_row_is_encoded_with_its_citation() -> None:
    with SNAPSHOT.open(encoding="utf-8") as f:
        verified = [row for row in csv.DictReader(f) if row["verified"] == "yes"]
    encoded_sources = {r.source for r in RULES}
    missing = [row["citation"] for row in verified if row["source_url"] not in encoded_sources]
    assert missing == []
    assert len(RULES) == len(verified)
    # And nothing unverified slipped in: every rule's source is a verified row's.
    assert encoded_sources <= {row["source_url"] for row in verified}


def test_the_fallback_is_the_apa_guideline_and_says_so() -> None:
    (fallback,) = [r for r in RULES if r.is_fallback]
    assert fallback.id == "APA-guideline" and "guideline, not law" in (fallback.note or "")


GOOD = """
[[rule]]
id = "X-1"
jurisdiction = "CA"
licenses = ["psychologist"]
anchor = "discharge"
adult_years = 7
citation = "c"
source = "s"

[[rule]]
id = "APA"
jurisdiction = "*"
licenses = ["any"]
anchor = "last-service"
adult_years = 7
citation = "c"
source = "s"
"""


@pytest.mark.parametrize(("change", "message"), [
    (('anchor = "discharge"', 'anchor = "whenever"'),
     r"^rules.toml line 2: unknown anchor 'whenever'; use one of discharge, "),
    (("adult_years = 7\ncitation", "adult_years = -1\ncitation"),
     r"^rules.toml line 2: adult_years must be a whole number from 1 to 100$"),
    (('id = "APA"', 'id = "X-1"'), r"^rules.toml line 11: rule id 'X-1' already used on line 2$"),
    (('jurisdiction = "CA"', 'jurisdiction = "ZZ"'), r"^rules.toml line 2: unknown jurisdiction"),
    (('licenses = ["psychologist"]', 'licenses = ["shaman"]'),
     r"^rules.toml line 2: unknown license 'shaman'"),
    (('citation = "c"\nsource = "s"\n\n', 'citation = "c"\nsource = "s"\ncolour = "red"\n\n'),
     r"^rules.toml line 2: unknown field 'colour'$"),
    (('adult_years = 7\ncitation = "c"\nsource = "s"\n\n',
      'adult_years = 7\nminor = { kind = "someday", years = 1 }\ncitation = "c"\n'
      'source = "s"\n\n'), r"^rules.toml line 2: minor.kind must be "),
    (('jurisdiction = "*"', 'jurisdiction = "NY"'), r"^rules.toml: no fallback rule"),
    (("[[rule]]\nid = \"X-1\"", "[[rule]\nid = \"X-1\""), r"^rules.toml: not valid TOML: "),
    (('citation = "c"\nsource = "s"\n\n', 'citation = ""\nsource = "s"\n\n'),
     r"^rules.toml line 2: citation must be a non-empty string$"),
])
def test_a_malformed_rule_is_one_line_naming_its_line(change: tuple[str, str],
                                                      message: str) -> None:
    old, new = change
    assert old in GOOD
    with pytest.raises(RuleError, match=message):
        parse(GOOD.replace(old, new, 1))
    assert len(parse(GOOD)) == 2


# ----- the engine ----------------------------------------------------------------------------


def facts(state: str, dob: str, license: str, end: str | None, *, facility: str | None = None,
          contact: str | None = None, entry: str | None = None, start: str = "2000-01-01"
          ) -> Facts:
    return Facts(jurisdiction=state, dob=date.fromisoformat(dob),
                 episodes=(Episode(license, facility, date.fromisoformat(start),
                                   date.fromisoformat(end) if end else None,
                                   "discharge" if end else None),),
                 contacts=(date.fromisoformat(contact),) if contact else (),
                 records=(Record(None, date.fromisoformat(entry)),) if entry else ())


@pytest.mark.parametrize(("case", "f", "winner", "destroy_on"), [
    ("CA psychologist, adult: discharge + 7",
     facts("CA", "1980-05-01", "psychologist", "2020-03-01"), "CA-psychologist", "2027-03-01"),
    ("CA psychologist, minor: age 18 + 7 is later",
     facts("CA", "2010-05-01", "psychologist", "2020-03-01"), "CA-psychologist", "2035-05-01"),
    ("CA BBS governs only terminations from 2015: the guideline applies before",
     facts("CA", "1980-05-01", "lmft", "2014-06-30"), "APA-guideline", "2021-06-30"),
    ("NY: 6 years and until age 22, both",
     facts("NY", "2008-01-10", "lcsw", "2019-01-01", entry="2019-02-01"), "NY-education-law",
     "2030-01-10"),
    ("WA psychologist: 8 years or to 22, the longer",
     facts("WA", "2015-07-04", "psychologist", "2020-01-01", contact="2020-02-01"),
     "WA-psychologist", "2037-07-04"),
    ("CO LPC minor: the 12-year cap binds",
     facts("CO", "2015-01-01", "lpc", "2020-06-01"), "CO-lpc", "2032-06-01"),
    ("NJ LMFT minor: until 25",
     facts("NJ", "2005-03-03", "lmft", "2012-01-01", entry="2012-01-02"), "NJ-lmft",
     "2030-03-03"),
    ("AZ any licensee: 6 years or 3 after 18",
     facts("AZ", "2000-09-09", "lpc", "2010-01-01"), "AZ-health-care-providers",
     "2021-09-09"),
    ("IL has no rule: the APA guideline",
     facts("IL", "1970-01-01", "psychologist", "2020-01-01"), "APA-guideline", "2027-01-01"),
    ("TX LPC with no TX psychologist rule: the LPC rule",
     facts("TX", "1990-01-01", "lpc", "2020-01-01"), "TX-lpc", "2027-01-01"),
    ("MA c.123 facility: 20 years",
     facts("MA", "1990-01-01", "lmhc", "2020-01-01", facility="mh-facility"),
     "MA-c123-facility", "2040-01-01"),
    ("MI: 7 years from the last date of service",
     facts("MI", "1990-01-01", "lpc", "2020-01-01", entry="2020-03-15"), "MI-article-15",
     "2027-03-15"),
    ("born on 29 February",
     facts("CA", "2008-02-29", "psychologist", "2015-01-01"), "CA-psychologist",
     "2033-03-01"),
])
def test_the_schedule_of_each_rule_shape(case: str, f: Facts, winner: str,
                                         destroy_on: str) -> None:
    e = engine.explain(RULES, f)
    assert e.winner is not None, (case, e.blocked)
    assert (e.winner.rule.id, e.destroy_on) == (winner, date.fromisoformat(destroy_on)), case


def test_the_longest_rule_wins_across_licenses_and_facilities() -> None:
    f = Facts("MA", date(1990, 1, 1), (
        Episode("lmhc", None, date(2010, 1, 1), date(2012, 1, 1), "termination"),
        Episode("lmhc", "mh-facility", date(2015, 1, 1), date(2016, 2, 1), "discharge")),
              contacts=(date(2016, 2, 1),))
    e = engine.explain(RULES, f)
    assert {r.rule.id for r in e.rules} == {"MA-allied-mh", "MA-c123-facility"}
    assert e.winner is not None and e.winner.rule.id == "MA-c123-facility"
    assert e.destroy_on == date(2036, 2, 1)
    assert [p.describe() for _, p in e.preconditions] == [
        "notify Massachusetts Department of Public Health before destroying"]


def test_a_cap_binds_its_own_rule_but_not_a_longer_minimum() -> None:
    """CO: the LPC rule caps retention at 12 years; a psychologist who also served the
    client requires longer. The whole client is kept for the longer minimum, and the
    conflict is shown."""
    lpc = facts("CO", "2015-01-01", "lpc", "2020-06-01")
    alone = engine.explain(RULES, lpc)
    assert (alone.destroy_on, alone.capped) == (date(2032, 6, 1), True)
    both = Facts("CO", date(2015, 1, 1), (
        Episode("lpc", None, date(2019, 1, 1), date(2020, 6, 1), "termination"),
        Episode("psychologist", None, date(2020, 6, 2), date(2020, 7, 1), "termination")))
    e = engine.explain(RULES, both)
    assert e.winner is not None and e.winner.rule.id == "CO-psychologist"
    assert e.destroy_on == date(2040, 1, 1)  # 7 years after the client turns 18 (2033)
    assert [r.rule.id for r in e.cap_conflicts] == ["CO-lpc"]


def test_a_license_without_a_state_rule_gets_the_guideline_beside_the_others() -> None:
    f = Facts("PA", date(1990, 1, 1), (
        Episode("psychologist", None, date(2010, 1, 1), date(2012, 1, 1), "termination"),
        Episode("lcsw", None, date(2012, 1, 2), date(2012, 1, 2), "termination")),
              contacts=(date(2012, 1, 2),))
    e = engine.explain(RULES, f)
    assert {r.rule.id for r in e.rules} == {"PA-psychologist", "APA-guideline"}
    assert e.winner is not None and e.winner.rule.id == "APA-guideline"


def test_no_date_while_an_episode_is_open_or_none_recorded() -> None:
    assert engine.explain(RULES, facts("CA", "1980-01-01", "psychologist", None)).blocked == (
        "an episode of care is still open")
    empty = Facts("CA", date(1980, 1, 1), ())
    assert engine.explain(RULES, empty).blocked == "no episode of care recorded"


@given(st.sampled_from(sorted({r.jurisdiction for r in RULES} - {"*"} | {"IL", "OH"})),
       st.sampled_from(sorted(rules.LICENSES)), st.dates(date(1930, 1, 1), date(2020, 1, 1)),
       st.integers(0, 30 * 365), st.integers(0, 400))
def test_destruction_dates_follow_the_rules(state: str, license: str, dob: date,
                                            served_after_birth: int, later_days: int) -> None:
    end = dob + timedelta(days=served_after_birth)
    f = facts(state, dob.isoformat(), license, end.isoformat())
    e = engine.explain(RULES, f)
    assert e.destroy_on is not None and e.winner is not None
    assert all(r.rule.jurisdiction in (state, "*") for r in e.rules)
    # The longest of what each rule allows (its minimum, bounded by its own cap); never
    # before any uncapped rule's minimum.
    assert e.destroy_on == max(engine.effective(r) for r in e.rules)
    assert all(e.destroy_on >= r.keep_until for r in e.rules if r.cap_until is None)
    assert e.capped == (e.destroy_on == e.winner.cap_until != e.winner.keep_until)
    # A later end of services never brings destruction forward.
    later = engine.explain(RULES, facts(state, dob.isoformat(), license,
                                        (end + timedelta(
                                            days=later_days)).isoformat()))
    assert later.destroy_on is not None and later.destroy_on >= e.destroy_on


def test_a_whichever_first_minor_rule_takes_the_earlier_date() -> None:
    """A.R.S. §32-2936 (regulation.md 2.2.4) has this shape; no verified row in the table
    uses it, so it is checked on a rule written here."""
    text = GOOD.replace('adult_years = 7\ncitation = "c"',
                        'adult_years = 7\nminor = { kind = "majority-plus", years = 3, '
                        'combine = "earlier" }\ncitation = "c"', 1)
    parsed = parse(text)
    e = engine.explain(parsed, facts("CA", "2010-01-01", "psychologist", "2015-01-01"))
    assert e.winner is not None and e.winner.minor_until == date(2031, 1, 1)
    assert e.destroy_on == date(2022, 1, 1)  # 7 years after discharge comes first
