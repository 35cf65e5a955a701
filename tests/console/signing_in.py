"""Signing in to the console from a TestClient (for the retention and integrity pages'
tests; the lead's ``tests/console/conftest.py`` may replace it on merge)."""

from __future__ import annotations

import re

from tests.api.conftest import Practice

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def form_token(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None, "the page has no anti-forgery field"
    return found.group(1)


def sign_in(practice: Practice, who: str) -> str:
    """Sign ``who`` in with their staff token (any earlier session's cookie dropped);
    the anti-forgery token of their session."""
    client = practice.client
    client.cookies.clear()
    form = client.get("/console/sign-in")
    assert form.status_code == 200
    home = client.post("/console/sign-in", data={"token": practice.tokens[who],
                                                 "csrf": form_token(form.text)})
    assert home.status_code == 200 and f"Signed in as <strong>{who}</strong>" in home.text
    return form_token(home.text)

