"""Signing in with the identity provider in a real browser (Debian's Chromium through
Playwright). The console is served at 127.0.0.1 and the fake provider at ``localhost``,
another site, whose sign-in page the person submits: the way back is a navigation that site
started, so the browser applies its cross-site cookie rules as with a real provider. The
attempt's cookie must come back with the provider's redirect (it is SameSite=Lax; Strict
would fail here), and the new session's Strict cookie must be sent on the way on to the
console (a page that moves on, not a redirect, which would fail here)."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from ledger.settings import ConsoleOidcSettings, OidcSettings
from tests.api.conftest import now, sqlite_settings
from tests.conftest import seed
from tests.fake_idp import FakeIdp, running

playwright = pytest.importorskip("playwright.sync_api")
Browser = playwright.Browser
uvicorn = pytest.importorskip("uvicorn")

SCREENSHOTS = "LEDGER_SCREENSHOTS"  # where the screenshots go; else the test's directory


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, FakeIdp]]:
    """The console at http://127.0.0.1:PORT, signing in with a provider at localhost."""
    from api.app import create_app

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running(FakeIdp(client_id="ledger-console", login_page=True),
                 host="localhost") as idp:
        jwks = tmp_path / "jwks.json"
        jwks.write_text(json.dumps(idp.jwks()))
        settings = replace(
            sqlite_settings(tmp_path),
            oidc=OidcSettings(issuer=idp.issuer, audience="ledger-api", jwks=str(jwks)),
            console_oidc=ConsoleOidcSettings(
                client_id="ledger-console", authorize_url=idp.authorize_url,
                token_url=idp.token_url,
                redirect_uri=f"{base}/console/sign-in/oidc/callback"))
        app = create_app(settings)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                               log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + 30
            while not server.started:
                assert thread.is_alive() and time.monotonic() < deadline
                time.sleep(0.05)
            seed(app.state.ledger, at=now())
            yield base, idp
        finally:
            server.should_exit = True
            thread.join(timeout=30)


def serious(page: object) -> list[str]:
    """The serious or critical accessibility violations axe-core finds on ``page``."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response.get("violations", [])
    return [v["id"] for v in found if v.get("impact") in ("serious", "critical")]


@pytest.mark.browser
def test_signing_in_with_the_identity_provider_in_chromium(
        served: tuple[str, FakeIdp], browser: Browser, tmp_path: Path) -> None:
    base, idp = served
    shots = Path(os.environ.get(SCREENSHOTS) or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    page = browser.new_page()  # pytest-playwright's one Playwright (tests/conftest.py)
    try:
        page.goto(f"{base}/console/sign-in")
        page.screenshot(path=str(shots / "sign-in-with-oidc.png"), full_page=True)
        assert serious(page) == []
        page.get_by_role("link", name="Sign in with your identity provider").click()
        page.get_by_role("button", name="Sign in as dr-lee").click()  # at the provider
        page.wait_for_url(f"{base}/console/", timeout=15_000)
        playwright.expect(page.get_by_text("Signed in as")).to_be_visible()
        playwright.expect(page.locator("header .who strong")).to_have_text("dr-lee")
        page.screenshot(path=str(shots / "signed-in-with-oidc.png"), full_page=True)
    finally:
        page.context.close()
    assert len(idp.token_requests) == 1
