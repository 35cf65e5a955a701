"""Signing in to the console with the identity provider, through the app (issue 16): the
browser goes to a fake provider on 127.0.0.1 and back; redirects are followed by hand.
A success is a session of the staff member the ID token names; each failure is the sign-in
page with a generic message, and a recorded ``authenticate`` event naming why."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from api.app import create_app
from api.console.cookies import OIDC_ATTEMPT, SESSION, CookieKey
from ledger.aggregates.audit import AuditEntry
from ledger.bootstrap import Ledger
from ledger.settings import ConsoleOidcSettings, OidcSettings
from tests.api.conftest import STAFF, TestClient, now, sqlite_settings
from tests.conftest import all_events, seed
from tests.fake_idp import FakeIdp, running

BASE = "https://testserver"
CALLBACK = f"{BASE}/console/sign-in/oidc/callback"
GENERIC = "Sign-in with your identity provider did not succeed."


@dataclass
class Console:
    client: TestClient
    lg: Ledger
    idp: FakeIdp

    @property
    def key(self) -> CookieKey:
        key: CookieKey = self.client.app.state.console_key  # type: ignore[attr-defined]
        return key

    def begin(self) -> str:
        """Click the button: the provider's URL (the attempt's cookie is now set)."""
        answer = self.client.get("/console/sign-in/oidc", follow_redirects=False)
        assert answer.status_code == 303
        return answer.headers["location"]

    def callback(self, url: str) -> str:
        """Go through the provider: the path and query it sends the browser back to."""
        parts = urlsplit(url)
        connection = http.client.HTTPConnection(parts.netloc, timeout=10)
        try:
            connection.request("GET", f"{parts.path}?{parts.query}")
            location = connection.getresponse().getheader("Location") or ""
        finally:
            connection.close()
        assert location.startswith(CALLBACK + "?")
        return location.removeprefix(BASE)

    def failures(self) -> list[str | None]:
        return [e.reason for e in all_events(self.lg.main)
                if isinstance(e, AuditEntry.Recorded) and e.action == "authenticate"]

    def refused(self, back: str, why: str) -> None:
        """Coming ``back`` fails with the generic page, and ``why`` is recorded."""
        answer = self.client.get(back, follow_redirects=False)
        assert (answer.status_code, answer.headers["location"]) == (
            303, "/console/sign-in?ended=oidc")
        assert f"{OIDC_ATTEMPT}=" in answer.headers["set-cookie"]  # removed
        page = self.client.get(answer.headers["location"])
        assert GENERIC in page.text and why not in page.text
        assert self.client.get("/console/", follow_redirects=False).status_code == 303
        assert self.failures() == [f"console sign-in: {why} (from testclient)"]


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    with running(FakeIdp(client_id="ledger-console")) as idp:
        settings = sqlite_settings(tmp_path)
        jwks = tmp_path / "jwks.json"
        jwks.write_text(json.dumps(idp.jwks()))
        settings = replace(
            settings, oidc=OidcSettings(issuer=idp.issuer, audience="ledger-api",
                                        jwks=str(jwks)),
            console_oidc=ConsoleOidcSettings(client_id="ledger-console",
                                             authorize_url=idp.authorize_url,
                                             token_url=idp.token_url, redirect_uri=CALLBACK))
        with TestClient(create_app(settings), base_url=BASE) as client:
            lg: Ledger = client.app.state.ledger  # type: ignore[attr-defined]
            seed(lg, at=now())
            yield Console(client, lg, idp)


def test_signing_in_with_the_provider_starts_a_session(console: Console) -> None:
    page = console.client.get("/console/sign-in")
    assert "Sign in with your identity provider" in page.text
    back = console.callback(console.begin())
    answer = console.client.get(back, follow_redirects=False)
    assert answer.status_code == 200  # a page that moves on by itself: see api.console.oidc
    assert '<meta http-equiv="refresh" content="0; url=/console/">' in answer.text
    cookies = answer.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith(f"{SESSION}="))
    assert all(a in session for a in ("HttpOnly", "SameSite=strict", "Secure", "Path=/console"))
    home = console.client.get("/console/")
    assert home.status_code == 200 and "dr-lee" in home.text
    (sent,) = console.idp.token_requests
    assert sent["redirect_uri"] == CALLBACK and len(sent["code_verifier"]) == 43
    signed = [e for e in all_events(console.lg.main)
              if isinstance(e, AuditEntry.Recorded) and e.action == "sign-in"]
    assert [(e.actor_id, e.outcome) for e in signed] == [("dr-lee", "granted")]
    assert (signed[0].reason or "").startswith("oidc idt-")
    assert console.failures() == []


def test_the_attempt_cookie_is_lax_httponly_secure_and_short_lived(console: Console) -> None:
    """Lax, because the provider sends the browser back cross-site: a Strict cookie would
    not come with it."""
    answer = console.client.get("/console/sign-in/oidc", follow_redirects=False)
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{OIDC_ATTEMPT}=")
    for attribute in ("HttpOnly", "Max-Age=600", "Path=/console/sign-in/oidc",
                      "SameSite=lax", "Secure"):
        assert attribute in cookie
    assert answer.headers["location"].startswith(console.idp.authorize_url + "?")


def test_a_wrong_state_is_refused(console: Console) -> None:
    back = console.callback(console.begin())
    path, _, _ = back.partition("&state=")
    console.refused(path + "&state=forged", "sign-in state does not match the attempt")
    assert console.idp.token_requests == []


def test_coming_back_twice_is_refused(console: Console) -> None:
    back = console.callback(console.begin())
    attempt = console.client.cookies[OIDC_ATTEMPT]
    assert console.client.get(back, follow_redirects=False).status_code == 200
    console.client.cookies.clear()
    console.refused(back, "no sign-in attempt in this browser")
    console.client.cookies.set(OIDC_ATTEMPT, attempt, path="/console/sign-in/oidc")
    answer = console.client.get(back, follow_redirects=False)
    assert answer.headers["location"] == "/console/sign-in?ended=oidc"
    assert console.failures()[-1] == "console sign-in: sign-in attempt already used " \
                                     "(from testclient)"
    assert len(console.idp.token_requests) == 1


def resigned(console: Console, **changes: object) -> None:
    """The attempt's cookie, changed and MAC'd again (as only the server could)."""
    pending = console.key.read_attempt(console.client.cookies[OIDC_ATTEMPT])
    assert not isinstance(pending, str)
    console.client.cookies.set(OIDC_ATTEMPT,
                               console.key.attempt_value(replace(pending, **changes)),
                               path="/console/sign-in/oidc")


def test_an_expired_attempt_is_refused(console: Console) -> None:
    back = console.callback(console.begin())
    resigned(console, started_at=now() - timedelta(minutes=10, seconds=1))
    console.refused(back, "sign-in attempt older than 10 minutes")


def test_a_pkce_verifier_that_does_not_fit_is_refused_by_the_provider(
        console: Console) -> None:
    back = console.callback(console.begin())
    resigned(console, verifier="A" * 43)
    console.refused(back, "the token endpoint refused the code (HTTP 400): 'invalid_grant'")


def test_a_tampered_attempt_cookie_is_refused(console: Console) -> None:
    back = console.callback(console.begin())
    value = console.client.cookies[OIDC_ATTEMPT]
    console.client.cookies.set(OIDC_ATTEMPT, "B" * 43 + value[43:],
                               path="/console/sign-in/oidc")
    console.refused(back, "a sign-in attempt cookie that fails its check")
    assert console.idp.token_requests == []


@pytest.mark.parametrize(("change", "why"), [
    ({"claims": {"nonce": "another"}}, "JWT nonce is not the one sent"),
    ({"claims": {"aud": "ledger-api"}}, "JWT audience is not this service"),
    ({"staff_id": "ghost"}, "JWT of ghost, not an active staff member"),
])
def test_an_id_token_that_does_not_hold_is_refused(console: Console,
                                                   change: dict[str, object],
                                                   why: str) -> None:
    for name, value in change.items():
        setattr(console.idp, name, value)
    console.refused(console.callback(console.begin()), why)


def test_a_deactivated_staff_member_is_refused(console: Console) -> None:
    console.lg.staff.deactivate(STAFF["clinician"], by="admin", at=now())
    console.refused(console.callback(console.begin()),
                    "JWT of dr-lee, not an active staff member")


def test_the_button_is_shown_only_when_configured(tmp_path: Path) -> None:
    with TestClient(create_app(sqlite_settings(tmp_path))) as client:
        assert "identity provider" not in client.get("/console/sign-in").text
        assert client.get("/console/sign-in/oidc", follow_redirects=False).status_code == 404


def test_coming_back_without_an_attempt_never_locks_the_address_out(console: Console) -> None:
    """Another site's page can send a browser to the callback as often as it likes (an
    image, a link): each is recorded, none counts towards the address's throttle, so a
    real sign-in still works."""
    for _ in range(15):
        answer = console.client.get(f"{CALLBACK.removeprefix(BASE)}?code=x&state=y",
                                    follow_redirects=False)
        assert answer.headers["location"] == "/console/sign-in?ended=oidc"
    assert len(console.failures()) == 15
    assert set(console.failures()) == {"console sign-in: no sign-in attempt in this browser "
                                       "(from testclient)"}
    back = console.callback(console.begin())
    assert console.client.get(back, follow_redirects=False).status_code == 200


def test_an_error_the_provider_sends_is_recorded_by_its_code_only(console: Console) -> None:
    for sent, recorded in (("access_denied", "access_denied"),
                           ("<b>Jane Roe</b> was here", "another error")):
        console.begin()
        pending = console.key.read_attempt(console.client.cookies[OIDC_ATTEMPT])
        assert not isinstance(pending, str)
        console.client.get(f"{CALLBACK.removeprefix(BASE)}?state={pending.state}&error={sent}",
                           follow_redirects=False)
        assert console.failures()[-1] == (
            f"console sign-in: the identity provider answered {recorded} (from testclient)")
