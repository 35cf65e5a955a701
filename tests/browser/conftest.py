"""The console in a real browser: the application ``create_app`` builds, served by uvicorn in
a thread on 127.0.0.1 (tests/cli/remote_server.py), on a fresh data directory with one staff
member of each role, a token each and a client; Debian's Chromium driven by Playwright
(pytest-playwright's ``browser`` fixture, launched as tests/conftest.py says: never
Playwright's own browser download; without Chromium the tests skip, under CI they fail).

Each test gets its own practice. Its idle time is ``LEDGER_CONSOLE_IDLE_SECONDS`` from the
``idle_seconds`` fixture (15 minutes; a test overrides it with
``@pytest.mark.parametrize("idle_seconds", [3])``). Screenshots go to
``test-artifacts/screenshots`` under the project root, or ``$LEDGER_TEST_ARTIFACTS``.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from ledger.bootstrap import Ledger, initialise
from ledger.settings import load_settings
from tests.cli.remote_server import serving_app
from tests.conftest import seed

# A busy two-core machine can take longer than Playwright's 5 s for a page to show a change;
# a check that holds still passes as soon as it holds.
expect.set_options(timeout=15_000)
ROOT = Path(__file__).resolve().parents[2]
STAFF = ("admin", "dr-lee", "sup", "bill", "desk", "comp")


def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def idle_seconds() -> int:
    return 900


@dataclass
class Console:
    """The running service: its base URL, the ledger it serves (for seeding and for
    checking what was recorded), and a token per staff id."""

    url: str
    lg: Ledger
    tokens: dict[str, str]
    idle_seconds: int

    def __call__(self, path: str) -> str:
        return self.url + path


@pytest.fixture
def console(tmp_path: Path, idle_seconds: int) -> Iterator[Console]:
    settings = load_settings(str(tmp_path / "data"),
                             environ={"LEDGER_CONSOLE_IDLE_SECONDS": str(idle_seconds)})
    initialise(settings, now())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from api.app import create_app
    app = create_app(settings)
    with serving_app(app, lifespan="on") as url:
        lg: Ledger = app.state.ledger
        seed(lg, now())
        tokens = {who: lg.tokens.issue(who, by="admin", at=now()).token for who in STAFF}
        yield Console(url, lg, tokens, idle_seconds)


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Any:
    """``shot(page, "name")``: a full-page screenshot, ``<test>-<name>.png``."""
    where = Path(os.environ.get("LEDGER_TEST_ARTIFACTS") or ROOT / "test-artifacts")
    folder = where / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    test = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name).strip("_")

    def take(page: Any, name: str) -> Path:
        path = folder / f"{test}-{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
