"""Signing in and out of the console in a real browser."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from api.console.cookies import SESSION
from ledger.queries import Query
from tests.browser.conftest import Console, now
from tests.browser.helpers import checked, sign_in

pytestmark = pytest.mark.browser


def sign_outs(console: Console, who: str) -> list[tuple[str, str | None]]:
    """The outcome and reason of each sign-out of ``who`` in the access log."""
    return [(r.outcome, r.reason) for r in console.lg.audit.access_log(
        by="admin", at=now(), query=Query(staff_id=who)) if r.action == "sign-out"]


def test_a_wrong_token_is_refused_on_the_page_and_the_right_one_opens_the_home_page(
        console: Console, page: Page, shot: Any) -> None:
    page.goto(console("/console/sign-in"))
    shot(page, "sign-in")
    page.get_by_label("Staff token").fill("not-a-token")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Sign in").click()
    assert posted.value.status == 401
    expect(page.get_by_role("alert")).to_have_text(
        "Sign-in failed. Check the token and try again.")
    expect(page.get_by_role("navigation", name="Pages")).to_have_count(0)
    checked(page, shot, "refused")

    page.get_by_label("Staff token").fill(console.tokens["comp"])
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(console("/console/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Compliance console")
    menu = page.get_by_role("navigation", name="Pages")
    expect(menu.get_by_role("link", name="Access log")).to_be_visible()
    expect(page.get_by_text("Signed in as comp")).to_be_visible()
    shot(page, "home")


def test_signing_out_ends_the_session_so_its_old_cookie_opens_nothing(
        console: Console, browser: Browser, page: Page, shot: Any) -> None:
    sign_in(page, console, "comp")
    (value,) = [c["value"] for c in page.context.cookies() if c["name"] == SESSION]
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(console("/console/sign-in?ended=signed-out"))
    expect(page.get_by_role("status")).to_have_text("You have signed out.")
    shot(page, "signed-out")
    assert sign_outs(console, "comp") == [("granted", "signed out")]

    replay = browser.new_context()
    try:
        replay.add_cookies([{"name": SESSION, "value": value,
                             "url": console("/console/")}])
        again = replay.new_page()
        again.goto(console("/console/access-log"))
        expect(again).to_have_url(console("/console/sign-in?ended=ended"))
        expect(again.get_by_role("heading", level=1)).to_have_text("Sign in")
        expect(again.get_by_role("status")).to_have_text(
            "Your session has ended. Please sign in again.")
        shot(again, "old-cookie")
    finally:
        replay.close()


@pytest.mark.parametrize("idle_seconds", [3])
def test_an_idle_session_ends_itself_the_page_goes_to_sign_in_and_the_logoff_is_recorded(
        console: Console, page: Page, shot: Any) -> None:
    sign_in(page, console, "sup")
    expect(page.locator("body")).to_have_attribute("data-idle-seconds", "3")
    # No request after the home page: its script goes to the sign-in page after 3 + 1 s.
    page.wait_for_url(console("/console/sign-in?ended=idle"), timeout=30_000)
    expect(page.get_by_role("status")).to_have_text(
        "You were signed out after a period without activity.")
    shot(page, "signed-out")

    logoff = ("granted", "automatic logoff after 3 idle seconds without a request")
    assert sign_outs(console, "sup") == [logoff]

    page.goto(console("/console/access-log"))
    expect(page).to_have_url(re.compile(r"/console/sign-in(\?ended=[a-z-]+)?$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    shot(page, "back-to-a-page")
    assert sign_outs(console, "sup") == [logoff]  # ending an ended session adds nothing
