"""The console's sign-in with the identity provider (issue 16): authorization code with
PKCE against a fake provider served on 127.0.0.1. A sign-in proves an active staff member
only if the state, the attempt's age, the PKCE verifier, the ID token (audience: the client
id) and its nonce all hold; every failure is a recorded ``authenticate`` event that names
why and never the code or a token."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import re
import socket
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from ledger.aggregates.audit import AuditEntry
from ledger.bootstrap import Ledger, open_ledger
from ledger.errors import KeyMaterialError, Throttled, Unauthenticated
from ledger.services.oidc import Verified
from ledger.services.oidc_login import OidcSignIn, Pending
from ledger.settings import ConsoleOidcSettings, OidcSettings, Settings
from tests.conftest import all_events, seed
from tests.fake_idp import FakeIdp, running

T0 = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
CLIENT_ID = "ledger-console"
REDIRECT = "https://ledger.clinic.example/console/sign-in/oidc/callback"
SOURCE = "198.51.100.7"


@pytest.fixture
def idp() -> Iterator[FakeIdp]:
    with running(FakeIdp(client_id=CLIENT_ID, clock=lambda: T0)) as served:
        yield served


def configure(settings: Settings, idp: FakeIdp, tmp_path: Path,
              secret_file: Path | None = None) -> Settings:
    jwks = tmp_path / "idp-jwks.json"
    jwks.write_text(json.dumps(idp.jwks()))
    return replace(
        settings,
        oidc=OidcSettings(issuer=idp.issuer, audience="ledger-api", jwks=str(jwks)),
        console_oidc=ConsoleOidcSettings(client_id=CLIENT_ID, authorize_url=idp.authorize_url,
                                         token_url=idp.token_url, redirect_uri=REDIRECT,
                                         client_secret_file=secret_file))


@pytest.fixture
def lg(settings: Settings, idp: FakeIdp, tmp_path: Path) -> Iterator[Ledger]:
    with open_ledger(configure(settings, idp, tmp_path)) as opened:
        seed(opened, T0)
        yield opened


def sign_in(lg: Ledger) -> OidcSignIn:
    assert lg.console_sign_in is not None
    return lg.console_sign_in


def browse(url: str) -> tuple[str, str]:
    """What a browser sent to ``url`` brings back to the callback: the code and state."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=10)
    try:
        connection.request("GET", f"{parts.path}?{parts.query}")
        response = connection.getresponse()
        assert response.status == 302
        location = response.getheader("Location") or ""
    finally:
        connection.close()
    assert location.startswith(REDIRECT + "?")
    query = parse_qs(urlsplit(location).query)
    return query["code"][0], query["state"][0]


def failures(lg: Ledger) -> list[str | None]:
    return [e.reason for e in all_events(lg.main)
            if isinstance(e, AuditEntry.Recorded) and e.action == "authenticate"]


def attempt(lg: Ledger, at: datetime = T0 + timedelta(seconds=20),
            **changes: Any) -> tuple[Pending, str, str]:
    url, pending = sign_in(lg).begin(T0)
    code, state = browse(url)
    return replace(pending, **changes), code, state


def test_a_sign_in_proves_the_staff_member_and_sends_what_a_provider_checks(
        lg: Ledger, idp: FakeIdp) -> None:
    pending, code, state = attempt(lg)
    proved = sign_in(lg).finish(pending, code=code, state=state, at=T0 + timedelta(seconds=20))
    principal = lg.authenticator.signed_in(lambda: proved, source=SOURCE, at=T0)
    assert (principal.staff_id, principal.method, principal.role) == ("dr-lee", "oidc",
                                                                     "clinician")
    assert principal.credential.startswith("idt-")
    (sent,) = idp.token_requests
    assert sent == {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                    "client_id": CLIENT_ID, "code_verifier": pending.verifier}
    assert failures(lg) == []


def test_the_authorization_url_carries_an_s256_challenge_and_fresh_random_values(
        lg: Ledger) -> None:
    url, pending = sign_in(lg).begin(T0)
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    digest = hashlib.sha256(pending.verifier.encode()).digest()
    assert query == {"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT,
                     "scope": "openid", "state": pending.state, "nonce": pending.nonce,
                     "code_challenge": base64.urlsafe_b64encode(digest).decode().rstrip("="),
                     "code_challenge_method": "S256"}
    assert pending.started_at == T0
    values = {pending.state, pending.nonce, pending.verifier}
    _, again = sign_in(lg).begin(T0)
    assert len(values | {again.state, again.nonce, again.verifier}) == 6
    assert {len(v) for v in values} == {43}  # 256 bits, base64url


def refuse(lg: Ledger, proved: Verified | str, why: str) -> None:
    with pytest.raises(Unauthenticated, match=f"^console sign-in: {re.escape(why)}$"):
        lg.authenticator.signed_in(lambda: proved, source=SOURCE, at=T0)
    assert failures(lg) == [f"console sign-in: {why} (from {SOURCE})"]


def test_a_wrong_state_is_refused_before_the_code_is_exchanged(lg: Ledger,
                                                                 idp: FakeIdp) -> None:
    pending, code, _ = attempt(lg)
    proved = sign_in(lg).finish(pending, code=code, state="forged-" + pending.state[7:],
                                at=T0)
    refuse(lg, proved, "sign-in state does not match the attempt")
    assert idp.token_requests == []


def test_an_attempt_of_ten_minutes_or_more_is_refused(lg: Ledger, idp: FakeIdp) -> None:
    pending, code, state = attempt(lg)
    proved = sign_in(lg).finish(pending, code=code, state=state, at=T0 + timedelta(minutes=10))
    refuse(lg, proved, "sign-in attempt older than 10 minutes")
    assert idp.token_requests == []


def test_a_replayed_attempt_is_refused_and_so_is_a_code_used_twice(lg: Ledger,
                                                                    idp: FakeIdp) -> None:
    pending, code, state = attempt(lg)
    first = sign_in(lg).finish(pending, code=code, state=state, at=T0)
    principal = lg.authenticator.signed_in(lambda: first, source=SOURCE, at=T0)
    assert principal.staff_id == "dr-lee"
    again = sign_in(lg).finish(pending, code=code, state=state, at=T0)
    refuse(lg, again, "sign-in attempt already used")
    assert len(idp.token_requests) == 1
    # Another process (a second worker) does not know the attempt: the provider refuses.
    other = OidcSignIn(sign_in(lg).settings, sign_in(lg).verifier)
    with pytest.raises(Unauthenticated, match=r"\(HTTP 400\): 'invalid_grant'$"):
        lg.authenticator.signed_in(lambda: other.finish(pending, code=code, state=state,
                                                        at=T0),
                                   source=SOURCE, at=T0)


def test_a_pkce_verifier_that_does_not_fit_the_challenge_is_refused(lg: Ledger) -> None:
    pending, code, state = attempt(lg, verifier="A" * 43)
    proved = sign_in(lg).finish(pending, code=code, state=state, at=T0)
    refuse(lg, proved, "the token endpoint refused the code (HTTP 400): 'invalid_grant'")


@pytest.mark.parametrize(("claims", "why"), [
    ({"nonce": "another"}, "JWT nonce is not the one sent"),
    ({"nonce": None}, "JWT without the nonce claim"),
    ({"aud": "ledger-api"}, "JWT audience is not this service"),
    ({"iss": "https://evil.example"}, "JWT issuer is not the configured one"),
    ({"exp": int(T0.timestamp()) - 60}, "expired JWT"),
    ({"sub": "ghost"}, "JWT of ghost, not an active staff member"),
])
def test_an_id_token_that_does_not_hold_is_refused(lg: Ledger, idp: FakeIdp,
                                                   claims: dict[str, object],
                                                   why: str) -> None:
    """A provider's token for the API (audience ledger-api) does not sign in either."""
    idp.claims = claims
    pending, code, state = attempt(lg)
    refuse(lg, sign_in(lg).finish(pending, code=code, state=state, at=T0), why)


def test_a_deactivated_staff_member_is_refused(lg: Ledger) -> None:
    lg.staff.deactivate("dr-lee", by="admin", at=T0)
    pending, code, state = attempt(lg)
    refuse(lg, sign_in(lg).finish(pending, code=code, state=state, at=T0),
           "JWT of dr-lee, not an active staff member")


def test_the_providers_error_answer_is_recorded(lg: Ledger, idp: FakeIdp) -> None:
    _, pending = sign_in(lg).begin(T0)
    proved = sign_in(lg).finish(pending, code=None, state=pending.state, at=T0,
                                error="access_denied")
    refuse(lg, proved, "the identity provider answered access_denied")
    assert idp.token_requests == []


@pytest.mark.parametrize(("answer", "why"), [
    ((302, {"Location": "https://elsewhere.example/token"}, b""),
     "the token endpoint answered HTTP 302 without a JSON object"),
    ((500, {}, b"<html>oops</html>"), "the token endpoint answered HTTP 500 without a JSON object"),
    ((200, {}, b'{"access_token": "x"}'), "the token endpoint's answer has no ID token"),
    ((200, {}, b'{"id_token": "' + b"a" * 70_000 + b'"}'),
     "the token endpoint's answer is larger than 65536 bytes"),
])
def test_a_broken_token_endpoint_is_a_recorded_failure(
        lg: Ledger, idp: FakeIdp, answer: tuple[int, dict[str, str], bytes], why: str) -> None:
    """A redirect is not followed: the code and verifier go to the token endpoint only."""
    idp.raw_token_answer = answer
    pending, code, state = attempt(lg)
    refuse(lg, sign_in(lg).finish(pending, code=code, state=state, at=T0), why)


def test_an_unreachable_token_endpoint_is_a_recorded_failure(settings: Settings,
                                                             idp: FakeIdp,
                                                             tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    configured = configure(settings, idp, tmp_path)
    assert configured.console_oidc is not None
    console = replace(configured.console_oidc, token_url=f"http://127.0.0.1:{port}/token")
    with open_ledger(replace(configured, console_oidc=console)) as opened:
        seed(opened, T0)
        pending, code, state = attempt(opened)
        refuse(opened, sign_in(opened).finish(pending, code=code, state=state, at=T0),
               "the token endpoint could not be reached: URLError")


def test_a_confidential_client_sends_its_secret_from_a_private_file(
        settings: Settings, idp: FakeIdp, tmp_path: Path) -> None:
    idp.secret = "s3cret-value"
    secret = tmp_path / "console-secret"
    secret.write_text("s3cret-value\n")
    secret.chmod(0o644)
    with open_ledger(configure(settings, idp, tmp_path, secret)) as opened, \
            pytest.raises(KeyMaterialError,
                          match=r"client secret file .* is accessible to other users"):
        opened.console_sign_in  # noqa: B018
    secret.chmod(0o600)
    with open_ledger(configure(settings, idp, tmp_path, secret)) as opened:
        seed(opened, T0)
        pending, code, state = attempt(opened)
        proved = sign_in(opened).finish(pending, code=code, state=state, at=T0)
        assert opened.authenticator.signed_in(lambda: proved, source=SOURCE,
                                              at=T0).staff_id == "dr-lee"
    assert idp.token_requests[0]["client_secret"] == "s3cret-value"


def test_finished_attempts_are_remembered_for_ten_minutes_and_at_most_a_bound(
        lg: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    from ledger.services import oidc_login

    monkeypatch.setattr(oidc_login, "MAX_REMEMBERED", 3)
    flow = OidcSignIn(sign_in(lg).settings, sign_in(lg).verifier)
    made = [flow.begin(T0)[1] for _ in range(4)]
    for i, pending in enumerate(made[:3]):
        assert flow._first_finish(pending, T0 + timedelta(minutes=i))
    assert not flow._first_finish(made[0], T0 + timedelta(minutes=3))
    assert flow._first_finish(made[3], T0 + timedelta(minutes=3))  # forgets made[0]
    assert list(flow._finished) == [p.state for p in made[1:]]
    assert flow._first_finish(made[0], T0 + timedelta(minutes=4))
    assert list(flow._finished) == [p.state for p in (*made[2:], made[0])]
    # Ten minutes after their finish, made[2] and made[3] are forgotten.
    assert not flow._first_finish(made[0], T0 + timedelta(minutes=13))
    assert list(flow._finished) == [made[0].state]


def test_failed_sign_ins_count_towards_the_sources_throttle(lg: Ledger,
                                                            idp: FakeIdp) -> None:
    """A source that cools down is refused before its code goes to the provider."""
    for _ in range(10):
        with pytest.raises(Unauthenticated):
            lg.authenticator.signed_in(lambda: "sign-in state does not match the attempt",
                                       source=SOURCE, at=T0)
    pending, code, state = attempt(lg)
    with pytest.raises(Throttled, match="too many failed authentications"):
        lg.authenticator.signed_in(
            lambda: sign_in(lg).finish(pending, code=code, state=state, at=T0),
            source=SOURCE, at=T0)
    assert idp.token_requests == []
    assert failures(lg)[-1] == (f"throttled: 10 failed authentications within 60 s; refused "
                                f"for 60 s (from {SOURCE})")
    assert lg.authenticator.signed_in(
        lambda: sign_in(lg).finish(pending, code=code, state=state, at=T0),
        source="192.0.2.1", at=T0).staff_id == "dr-lee"
