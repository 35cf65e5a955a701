"""The console's retention page: counts by status from the plan, destructions due by year
as a server-drawn chart, holds with their matters, the purge job's last run and the newest
destruction receipts; refused, and the refusal recorded, for a clinician."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from html import escape

import pytest

from jobs.heartbeat import heartbeats
from ledger.settings import Settings
from tests.api.conftest import Practice, now, open_practice
from tests.console.signing_in import CSRF, sign_in


@pytest.fixture
def practice(settings: Settings) -> Iterator[Practice]:
    """On SQLite and on PostgreSQL: the page reads receipts through a new service call."""
    yield from open_practice(settings)


def discharged(practice: Practice, ref: str, start: date, end: date) -> None:
    """A client of a California psychologist, discharged on ``end`` (kept seven years)."""
    lg, at = practice.lg, now()
    lg.clients.register(ref, f"Name of {ref}", date(1970, 1, 1), "CA", by="desk", at=at)
    lg.clients.open_episode(ref, license="psychologist", facility=None, start=start,
                            by="desk", at=at)
    lg.clients.close_episode(ref, end=end, kind="discharge", by="desk", at=at)


def seeded(practice: Practice) -> None:
    """One client due (since 2017), one held (due too), one retained (until 2032); the
    seed's C-1, with no episode, has no date."""
    discharged(practice, "D-1", date(2010, 3, 1), date(2010, 6, 1))
    discharged(practice, "H-1", date(2010, 3, 1), date(2010, 6, 1))
    discharged(practice, "R-1", date(2025, 1, 6), date(2025, 6, 2))
    practice.lg.retention.place_hold(["H-1"], matter="Roe v. Clinic", reason="litigation",
                                     by="comp", at=now())


def count(html: str, status: str) -> int:
    found = re.search(rf'<tr data-status="{status}"><th scope="row">\w+</th><td>(\d+)</td>',
                      html)
    assert found is not None, status
    return int(found.group(1))


def bars(html: str) -> dict[int, int]:
    found = re.findall(r"<title>(\d{4}): (\d+) destructions due</title>", html)
    return {int(y): int(n) for y, n in found}


@pytest.mark.parametrize("who", ["comp", "admin"])
def test_the_counts_match_the_plan_and_the_chart_has_a_bar_per_year(
        practice: Practice, who: str) -> None:
    seeded(practice)
    sign_in(practice, who)
    page = practice.client.get("/console/retention")
    assert page.status_code == 200
    html = page.text
    assert [count(html, s) for s in ("due", "held", "blocked", "retained", "destroyed")] \
        == [1, 1, 1, 1, 0]
    assert "1 with no destruction date" in html
    svg = html[html.index("<svg"):html.index("</svg>")]
    assert 'role="img"' in svg and '-title">Destructions due by year</title>' in svg
    assert "style=" not in svg  # the page's policy: presentation attributes only
    assert bars(svg) == {2017: 2, 2032: 1}
    assert svg.count('<g class="bar">') == 2
    assert "Roe v. Clinic" in html and "litigation" in html
    assert "No client has been destroyed." in html
    text = CSRF.sub("", html)  # a random token could hold any three characters
    for ref in ("D-1", "H-1", "R-1", "C-1"):  # nothing names a client
        assert ref not in text


def test_an_as_of_day_changes_the_counts(practice: Practice) -> None:
    seeded(practice)
    sign_in(practice, "comp")
    html = practice.client.get("/console/retention?at=2033-01-01").text
    assert [count(html, s) for s in ("due", "held", "blocked", "retained")] == [2, 1, 1, 0]
    assert 'value="2033-01-01"' in html
    bad = practice.client.get("/console/retention?at=01/02/2033")
    assert bad.status_code == 422
    assert "the as-of day must be a date like 2024-03-31" in bad.text


def test_receipts_and_the_last_purge_run_are_shown_without_the_client(
        practice: Practice) -> None:
    seeded(practice)
    lg, start = practice.lg, now()
    done = lg.retention.run(by="comp", at=start)
    assert [s.status for s in done] == ["destroyed"]
    settings = lg.settings
    with heartbeats(settings.main.url, settings.main.schema) as beats:
        beats.create()
        beats.started("retention-sweep", at=start, pid=7)
        beats.ended("retention-sweep", at=start + timedelta(seconds=2), pid=7, error=None)
    sign_in(practice, "comp")
    html = practice.client.get("/console/retention").text
    assert count(html, "destroyed") == 1 and count(html, "due") == 0
    table = html[html.index('<table id="receipts"'):]
    table = table[:table.index("</table>")]
    assert "The newest 2 of 2 receipts" in table
    assert table.count("<tr>") == 3  # a header, and one per store
    assert "main record" in table and "psychotherapy notes" in table
    assert "2017-06-01" in table  # the computed destruction date
    receipt = lg.main.receipt_for(done[0].client_id)
    assert receipt is not None and receipt.rule_id in table \
        and escape(receipt.citation) in table
    assert str(done[0].client_id) not in html and "D-1" not in CSRF.sub("", html)
    sweep = html[html.index('<dl class="facts" id="sweep">'):]
    assert "<dt>Scheduled purge</dt><dd>ok</dd>" in sweep
    assert '<span class="ok">ok</span>' in sweep[:sweep.index("</dl>")]


def test_a_clinician_is_refused_and_the_refusal_is_recorded(practice: Practice) -> None:
    before = practice.refusals("dr-lee")
    sign_in(practice, "dr-lee")
    page = practice.client.get("/console/retention")
    assert page.status_code == 403
    assert "role clinician may not manage retention or legal holds" in page.text
    assert practice.refusals("dr-lee") == before + 1
    assert 'href="/console/retention"' not in page.text  # nor in the menu
