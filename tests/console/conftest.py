"""The console in process: the practice of tests/api (the app on a data directory, one
staff member of each role with a token, a client), and a browser-like client that signs
in through the console's own form."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from ledger.aggregates.audit import AuditEntry
from tests.api.conftest import Practice, open_practice, sqlite_settings
from tests.conftest import all_events

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None, "no anti-forgery token on the page"
    return found.group(1)


def sign_in(practice: Practice, who: str) -> str:
    """Sign ``who`` in (the client's cookies are theirs afterwards); the session cookie."""
    client = practice.client
    client.cookies.clear()
    form = client.get("/console/sign-in")
    answer = client.post("/console/sign-in", follow_redirects=False,
                         data={"token": practice.tokens[who], "csrf": csrf_of(form.text)})
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/console/"
    return str(client.cookies.get("ledger_console"))


def entries(practice: Practice, action: str) -> list[AuditEntry.Recorded]:
    return [e for e in all_events(practice.lg) if isinstance(e, AuditEntry.Recorded)
            and e.action == action]


def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def practice(tmp_path) -> Iterator[Practice]:  # type: ignore[no-untyped-def]
    yield from open_practice(sqlite_settings(tmp_path))
