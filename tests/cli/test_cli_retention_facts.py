"""Retention from the facts as they happened, from the command line: session dates anchor
the per-record rules, and each episode of care carries its state and license.

Expected dates are computed here by hand from the rows of state_retention.csv named in
each test (the years read from the row), never taken from the engine."""

from __future__ import annotations

import json
from datetime import date

from tests.cli.test_cli_sealed import ok, practice
from tests.unit.test_retention_episodes import row, years_after


def test_michigan_runs_from_the_session_dates_not_from_when_the_notes_were_typed(
        run) -> None:  # type: ignore[no-untyped-def]
    practice(run)
    mi = row("MI", "All Article 15")
    ok(run("client", "add", "--id", "C-MI", "--name", "Sam Poe", "--dob", "1980-04-02",
           "--state", "MI", "--as", "desk"))
    ok(run("client", "episode", "open", "C-MI", "--as", "desk", "--license", "lpc",
           "--start", "2015-01-12"))
    ok(run("client", "episode", "close", "C-MI", "--as", "desk", "--end", "2017-06-20",
           "--kind", "termination"))
    for day in ("2015-03-02", "2017-06-20"):  # typed today, about sessions years ago
        ok(run("note", "write", "--client", "C-MI", "--as", "dr-lee", "--session-date", day,
               input=f"session of {day}\n"))
    ok(run("pn", "write", "--client", "C-MI", "--as", "dr-lee", "--session-date",
           "2017-06-20", input="process note\n"))
    expected = years_after(date(2017, 6, 20), int(mi["adult_years"]))
    explained = json.loads(ok(run("retention", "explain", "C-MI", "--as", "comp", "--json")))
    assert (explained["winner"], explained["destroy_on"]) == (
        "MI-article-15", expected.isoformat())
    (rule,) = [r for r in explained["rules"] if r["id"] == "MI-article-15"]
    assert rule["citation"] == mi["citation"]
    assert rule["anchor_date"] == "2017-06-20"
    assert explained["status"] == "due"  # since 2024-06-20: the old reading said 2033


def test_a_client_seen_in_two_states_is_kept_under_the_longer_rule(
        run) -> None:  # type: ignore[no-untyped-def]
    practice(run)
    wa, pa = row("WA", "Psychologist"), row("PA", "Psychologist")
    ok(run("client", "add", "--id", "C-2S", "--name", "Ann Lee", "--dob", "2005-03-03",
           "--state", "PA", "--as", "desk"))
    ok(run("client", "episode", "open", "C-2S", "--as", "desk", "--license", "psychologist",
           "--start", "2014-01-06", "--state", "WA"))
    ok(run("client", "episode", "close", "C-2S", "--as", "desk", "--end", "2016-08-31",
           "--kind", "termination"))
    ok(run("client", "episode", "open", "C-2S", "--as", "desk", "--license", "psychologist",
           "--start", "2017-01-09"))  # in PA, the state of registration
    ok(run("client", "episode", "close", "C-2S", "--as", "desk", "--end", "2018-07-01",
           "--kind", "termination"))
    wa_until = max(years_after(date(2016, 8, 31), int(wa["adult_years"])),
                   years_after(date(2005, 3, 3), 22))  # "until 22 or 8 years, the longer"
    pa_until = years_after(date(2018, 7, 1), int(pa["adult_years"]))
    assert (wa_until, pa_until) == (date(2027, 3, 3), date(2023, 7, 1))
    text = ok(run("retention", "explain", "C-2S", "--as", "comp", "--at", "2025-01-01"))
    assert f"retained (kept until {wa_until.isoformat()})" in text
    assert "WA-psychologist <- longest: " + wa["citation"] in text
    assert "  governs: WA psychologist 2014-01-06 to 2016-08-31\n" in text
    assert "  governs: PA psychologist 2017-01-09 to 2018-07-01\n" in text
    assert f"keep until {pa_until.isoformat()}" in text
    dry = ok(run("retention", "run", "--as", "comp", "--dry-run", "--at", "2025-01-01"))
    assert "C-2S" not in dry and "would destroy" not in dry.replace(
        "0 client(s) would destroy", "")
    bad = run("client", "episode", "open", "C-2S", "--as", "desk", "--license", "lpc",
              "--start", "2019-01-07", "--state", "ZZ")
    assert bad.exit_code == 1
    assert bad.stderr == "error: unknown state 'ZZ'; use a two-letter US code\n"


def test_an_imported_2015_history_is_kept_from_when_it_happened(
        run) -> None:  # type: ignore[no-untyped-def]
    """A New York client seen in 2015 and 2017 in an earlier system, imported today. The
    rule (8 NYCRR §29.2(a)(3)): 6 years, read from the last entry or service. The last
    fact of the record is the follow-up contact of 2017-10-02, after the last entry of
    2017-09-25; the chain time of the import (today) counts for nothing."""
    from pathlib import Path

    practice(run)
    ok(run("staff", "add", "--id", "dr-kim", "--name", "dr-kim", "--role", "clinician",
           "--as", "admin"))
    history = Path(__file__).resolve().parents[1] / "data" / "history-2015.jsonl"
    ok(run("import", str(history), "--as", "admin"))
    ny = row("NY", "All Education-Law")
    assert ny["adult_years"] == "6" and "to age 22" in ny["minor_rule"]
    last = date(2017, 10, 2)  # born 1980: an adult throughout, the minor clause is moot
    expected = years_after(last, int(ny["adult_years"]))
    explained = json.loads(ok(run("retention", "explain", "H-2015", "--as", "comp",
                                  "--json")))
    assert (explained["winner"], explained["destroy_on"], explained["status"]) == (
        "NY-education-law", expected.isoformat(), "due")
    (rule,) = explained["rules"]
    assert rule["anchor_date"] == last.isoformat()
    assert rule["citation"] == ny["citation"]
    assert [(e["state"], e["start"], e["end"]) for e in rule["episodes"]] == [
        ("NY", "2015-02-02", "2015-11-30"), ("NY", "2017-03-06", "2017-09-25")]
    # Importing the file again adds nothing, and changes nothing in the schedule.
    ok(run("import", str(history), "--as", "admin"))
    again = json.loads(ok(run("retention", "explain", "H-2015", "--as", "comp", "--json")))
    assert again["destroy_on"] == expected.isoformat()
