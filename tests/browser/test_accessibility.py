"""Every console page in a real browser: axe finds nothing serious or critical, and the
first Tab reaches the skip link, which moves focus to the main content.

``VISITS`` lists the pages with what it takes to reach them; a page of the menu
(``api.console.web.PAGES``) that the console serves and ``VISITS`` does not name is opened
too, by a staff member the roles table lets use it, so a new page is checked as soon as it
is routed. A page whose result needs a form filled in gets its own entry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from api.console import ROUTERS
from api.console.web import PAGES
from ledger.rules import roles
from ledger.rules.roles import StaffView
from tests.browser.conftest import Console, now
from tests.browser.helpers import blocking_violations, sign_in, skip_link_first
from tests.conftest import PN_ASSERTION

pytestmark = pytest.mark.browser
ROLES = {"comp": "compliance", "admin": "admin", "sup": "supervisor", "dr-lee": "clinician",
         "bill": "billing", "desk": "front-desk"}


def filtered_log(page: Page, console: Console) -> None:
    page.goto(console("/console/access-log"))
    page.get_by_label("Staff id").fill("dr-kim")
    page.get_by_role("button", name="Show", exact=True).click()
    expect(page.locator("#access-log caption")).to_have_text(  # the break-the-glass read
        "1 event, page 1 of 1, by time, descending")


def letter(page: Page, console: Console) -> None:
    page.goto(console("/console/accounting"))
    page.get_by_label("Client reference").fill("C-1")
    page.get_by_role("button", name="Prepare the letter").click()
    expect(page.locator("article.letter")).to_contain_text("County Coroner")


def timeline(page: Page, console: Console) -> None:
    page.goto(console("/console/clients/timeline"))
    page.get_by_label("Client reference").fill("C-1")
    page.get_by_role("button", name="Show the timeline").click()
    expect(page.locator("#timeline tbody tr")).not_to_have_count(0)


def unknown_client(page: Page, console: Console) -> None:
    page.goto(console("/console/accounting"))
    page.get_by_label("Client reference").fill("C-404")
    page.get_by_role("button", name="Prepare the letter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")


def opened(path: str) -> Callable[[Page, Console], None]:
    def go(page: Page, console: Console) -> None:
        page.goto(console(path))
    return go


# name, who (None: not signed in), how to get there, the page's <h1>
VISITS: list[tuple[str, str | None, Callable[[Page, Console], None], str]] = [
    ("sign-in", None, opened("/console/sign-in"), "Sign in"),
    ("home", "comp", opened("/console/"), "Compliance console"),
    ("access-log", "comp", opened("/console/access-log"), "Access log"),
    ("access-log-filtered", "comp", filtered_log, "Access log"),
    ("accounting", "comp", opened("/console/accounting"), "Accounting of disclosures"),
    ("accounting-letter", "comp", letter, "Accounting of disclosures"),
    ("clients-timeline", "comp", opened("/console/clients/timeline"), "Client timeline"),
    ("timeline-chart", "comp", timeline, "Client timeline"),
    ("investigation", "sup", opened("/console/investigation"),
     "Investigator's report: psychotherapy notes"),
    ("not-found-404", "comp", unknown_client, "Not found"),
    ("refused-403", "dr-lee", opened("/console/access-log"), "Not allowed"),
]


def routed() -> set[str]:
    return {getattr(route, "path", "") for router in ROUTERS for route in router.routes}


def may_use(rule: roles.Rule | None) -> str:
    return next(who for who, role in ROLES.items()
                if rule is None or roles.decide(StaffView(who, role, True), rule).granted)


def every_visit() -> list[tuple[str, str | None, Callable[[Page, Console], None], str | None]]:
    named = {name for name, *_ in VISITS}
    menu = [(path.removeprefix("/console/").replace("/", "-"), may_use(rule), opened(path), None)
            for path, _, rule in PAGES if path in routed()]
    return [*VISITS, *(v for v in menu if v[0] not in named)]


def history(console: Console) -> None:
    """Something for every page to show: a disclosure to account for, a break-the-glass
    read and a released psychotherapy note to chart, and signed checkpoints."""
    lg = console.lg
    note = lg.notes.write("C-1", "progress text", by="dr-lee", session_date=None, at=now())
    lg.notes.read(note, by="dr-kim", purpose="TREAT", at=now(),
                  break_glass_reason="client in crisis")
    lg.notes.disclose("C-1", [note], by="comp", recipient="County Coroner",
                      recipient_type="coroner", purpose="PUBHLTH", exception="CORONER_512g1",
                      description="one progress note", assertion=PN_ASSERTION[1], at=now())
    lg.psychotherapy.write("C-1", "process", by="dr-lee", session_date=None, at=now())
    pn_note = lg.psychotherapy.list_notes("C-1", by="dr-lee", at=now())[0].note_id
    lg.psychotherapy.disclose("C-1", [pn_note], by="comp", recipient="County Coroner",
                              recipient_type="coroner", purpose="PUBHLTH",
                              exception="CORONER_512g1", assertion=PN_ASSERTION[1], at=now())
    lg.integrity.checkpoint(at=now())


def test_every_page_has_no_serious_accessibility_problem_and_a_working_skip_link(
        console: Console, browser: Browser, shot: Any) -> None:
    history(console)
    pages: dict[str | None, Page] = {}
    problems: list[str] = []
    try:
        for name, who, go, heading in every_visit():
            if who not in pages:
                pages[who] = browser.new_page()
                if who is not None:
                    sign_in(pages[who], console, who)
            page = pages[who]
            go(page, console)
            if heading is not None:
                expect(page.get_by_role("heading", level=1)).to_have_text(heading)
            shot(page, name)
            problems += [f"{name}: {problem}" for problem in blocking_violations(page)]
            skip_link_first(page)
    finally:
        for page in pages.values():
            page.context.close()
    assert not problems, "\n".join(problems)
