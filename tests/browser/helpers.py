"""What the browser tests share: signing in through the form, the checks every page gets
(axe, the skip link), and reading the access log table."""

from __future__ import annotations

from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.browser.conftest import Console

AXE = Axe()
BLOCKING = ("serious", "critical")


def sign_in(page: Page, console: Console, who: str) -> None:
    """Sign ``who`` in with their staff token; the browser ends on the home page."""
    page.goto(console("/console/sign-in"))
    page.get_by_label("Staff token").fill(console.tokens[who])
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(console("/console/"))


def blocking_violations(page: Page) -> list[str]:
    """What axe finds serious or critical on the page as it is now, one line each."""
    found = AXE.run(page).response["violations"]
    return [f"{page.url}: {v['id']} ({v['impact']}): {v['help']} at "
            + ", ".join(str(n.get("target")) for n in v["nodes"])
            for v in found if v.get("impact") in BLOCKING]


def no_serious_violations(page: Page) -> None:
    problems = blocking_violations(page)
    assert not problems, "\n".join(problems)


def skip_link_first(page: Page) -> None:
    """Tab from the top of the page reaches the skip link first; it moves focus to main."""
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press("Tab")
    expect(page.locator("a.skip-link")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()


def rows(page: Page) -> list[dict[str, str]]:
    """The access log table's rows, each as {column heading: cell text}."""
    heads = page.locator("#access-log thead th").all_inner_texts()
    table: list[dict[str, str]] = []
    for row in page.locator("#access-log tbody tr").all():
        cells = row.locator("td").all_inner_texts()
        if len(cells) == len(heads):
            table.append(dict(zip(heads, (c.strip() for c in cells), strict=True)))
    return table


def checked(page: Page, shot: Any, name: str) -> None:
    """A screenshot of the page, then axe and the skip link."""
    shot(page, name)
    no_serious_violations(page)
    skip_link_first(page)
