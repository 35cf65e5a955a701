"""Signing in and out of the console, the session cookie, the idle logoff and the
anti-forgery tokens, in process (the browser tests drive the same through Chromium)."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from api.console.cookies import SESSION, CookieKey
from ledger.errors import BadInput
from ledger.settings import load_settings
from tests.api.conftest import Practice, open_practice, sqlite_settings
from tests.console.conftest import csrf_of, entries, now, sign_in


def key(practice: Practice) -> CookieKey:
    app = practice.client.app
    return app.state.console_key  # type: ignore[attr-defined, no-any-return]


def test_a_page_without_a_session_goes_to_the_sign_in_page(practice: Practice) -> None:
    answer = practice.client.get("/console/access-log", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/sign-in"


def test_signing_in_with_a_staff_token_starts_a_recorded_session(practice: Practice) -> None:
    cookie = sign_in(practice, "comp")
    home = practice.client.get("/console/")
    assert home.status_code == 200
    assert "Signed in as <strong>comp</strong> (compliance)" in home.text
    assert "Access log" in home.text
    [signed_in] = entries(practice, "sign-in")
    assert (signed_in.actor_id, signed_in.actor_role, signed_in.outcome) == (
        "comp", "compliance", "granted")
    assert signed_in.object_type == "console-session"
    assert signed_in.reason is not None and signed_in.reason.startswith("staff-token ")
    assert practice.tokens["comp"] not in (signed_in.reason or "")
    secret = cookie.split(".")[0]
    assert secret not in repr([e.__dict__ for e in entries(practice, "sign-in")])


def test_a_wrong_token_is_a_recorded_failure_and_no_session(practice: Practice) -> None:
    client = practice.client
    form = client.get("/console/sign-in")
    answer = client.post("/console/sign-in", data={"token": "lgst_" + "A" * 43,
                                                   "csrf": csrf_of(form.text)})
    assert answer.status_code == 401
    assert "Sign-in failed" in answer.text
    assert "ledger_console" not in client.cookies
    failures = [e for e in entries(practice, "authenticate") if e.outcome == "denied"]
    assert failures[-1].reason == "unknown token (from testclient)"


def test_the_sign_in_form_needs_its_anti_forgery_token(practice: Practice) -> None:
    client = practice.client
    client.get("/console/sign-in")
    answer = client.post("/console/sign-in", data={"token": practice.tokens["comp"]})
    assert answer.status_code == 403
    assert "This form was not accepted" in answer.text
    assert "ledger_console" not in client.cookies
    assert entries(practice, "sign-in") == []
    assert entries(practice, "authenticate")[-1].reason == (
        "a console sign-in form without a valid anti-forgery token (from testclient)")


def test_the_session_cookie_is_httponly_strict_and_secure_under_tls(tmp_path) -> None:  # type: ignore[no-untyped-def]
    for practice in open_practice(sqlite_settings(tmp_path)):
        client = practice.client
        client.base_url = client.base_url.copy_with(scheme="https")  # type: ignore[assignment]
        form = client.get("/console/sign-in")
        answer = client.post("/console/sign-in", follow_redirects=False,
                             data={"token": practice.tokens["comp"],
                                   "csrf": csrf_of(form.text)})
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith(f"{SESSION}=")
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" in cookie
        assert "Path=/console" in cookie


def test_pages_are_not_cached_framed_or_allowed_other_sites_content(practice: Practice) -> None:
    sign_in(practice, "comp")
    answer = practice.client.get("/console/access-log")
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-frame-options"] == "DENY"
    csp = answer.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "http" not in re.sub(r"https?://testserver", "", answer.text.split("<body")[0])


def test_a_form_post_without_its_token_is_refused_and_recorded(practice: Practice) -> None:
    sign_in(practice, "comp")
    before = len(entries(practice, "list"))
    answer = practice.client.post("/console/access-log", data={"staff": "comp"})
    assert answer.status_code == 403
    assert "This form was not accepted" in answer.text
    assert len(entries(practice, "list")) == before  # the log was not read
    assert entries(practice, "authenticate")[-1].reason == (
        "a console form without a valid anti-forgery token (from testclient)")
    other = practice.client.post("/console/access-log", data={"staff": "comp",
                                                              "csrf": "0" * 64})
    assert other.status_code == 403


def test_another_sessions_token_does_not_pass(practice: Practice) -> None:
    sign_in(practice, "sup")
    token_of_sup = csrf_of(practice.client.get("/console/access-log").text)
    sign_in(practice, "comp")
    answer = practice.client.post("/console/access-log", data={"csrf": token_of_sup})
    assert answer.status_code == 403


def test_signing_out_ends_the_session_for_good(practice: Practice) -> None:
    cookie = sign_in(practice, "comp")
    page = practice.client.get("/console/")
    answer = practice.client.post("/console/sign-out", follow_redirects=False,
                                  data={"csrf": csrf_of(page.text)})
    assert answer.headers["location"] == "/console/sign-in?ended=signed-out"
    [out] = entries(practice, "sign-out")
    assert (out.actor_id, out.reason) == ("comp", "signed out")
    practice.client.cookies.set(SESSION, cookie, path="/console")  # replay the old cookie
    replayed = practice.client.get("/console/", follow_redirects=False)
    assert replayed.headers["location"] == "/console/sign-in?ended=ended"
    assert len(entries(practice, "sign-out")) == 1


def test_an_idle_session_is_signed_out_and_recorded(practice: Practice) -> None:
    cookie = sign_in(practice, "comp")
    secret = cookie.split(".")[0]
    idle = practice.lg.settings.console_idle_seconds
    assert idle == 900  # 15 minutes unless set
    stale = key(practice).session_value(secret, int(now().timestamp()) - idle - 1)
    practice.client.cookies.set(SESSION, stale, path="/console")
    answer = practice.client.get("/console/access-log", follow_redirects=False)
    assert answer.headers["location"] == "/console/sign-in?ended=idle"
    [out] = entries(practice, "sign-out")
    assert out.reason == "automatic logoff after 15 idle minutes without a request"
    # The session is over: a fresh last-request time (if one could be made) does not revive it.
    fresh = key(practice).session_value(secret, int(now().timestamp()))
    practice.client.cookies.set(SESSION, fresh, path="/console")
    again = practice.client.get("/console/", follow_redirects=False)
    assert again.headers["location"] == "/console/sign-in?ended=ended"
    notice = practice.client.get("/console/sign-in?ended=idle")
    assert "signed out after a period without activity" in notice.text


def test_a_session_in_use_is_kept_and_its_cookie_renewed(practice: Practice) -> None:
    cookie = sign_in(practice, "comp")
    secret = cookie.split(".")[0]
    earlier = key(practice).session_value(secret, int(now().timestamp()) - 600)
    practice.client.cookies.set(SESSION, earlier, path="/console")
    answer = practice.client.get("/console/")
    assert answer.status_code == 200
    renewed = answer.headers["set-cookie"]
    assert renewed.startswith(f"{SESSION}={secret}.")
    assert int(renewed.split(".")[1]) > int(now().timestamp()) - 60


def test_moving_the_last_request_later_without_the_key_fails(practice: Practice) -> None:
    """The insider's trick on an idle session: rewrite the cookie's time."""
    cookie = sign_in(practice, "comp")
    secret, last, mac = cookie.split(".")
    forged = f"{secret}.{int(last) + 600}.{mac}"
    practice.client.cookies.set(SESSION, forged, path="/console")
    answer = practice.client.get("/console/", follow_redirects=False)
    assert answer.headers["location"] == "/console/sign-in?ended=check"
    assert entries(practice, "authenticate")[-1].reason == (
        "a console session cookie that fails its check (from testclient)")


def test_the_database_holds_no_secret_that_opens_a_session(practice: Practice) -> None:
    """Someone with the database sees the session's record: its digest and id open nothing."""
    sign_in(practice, "comp")
    from ledger.aggregates.console_session import ConsoleSession

    [started] = [e for e in _events(practice) if isinstance(e, ConsoleSession.Started)]
    for guess in (started.digest, str(started.originator_id)):
        forged = key(practice).session_value(guess.replace("-", "_"), int(now().timestamp()))
        practice.client.cookies.set(SESSION, forged, path="/console")
        answer = practice.client.get("/console/", follow_redirects=False)
        assert answer.headers["location"] == "/console/sign-in?ended=ended"


def test_a_deactivated_member_is_signed_out_at_the_next_request(practice: Practice) -> None:
    sign_in(practice, "sup")
    practice.lg.staff.deactivate("sup", by="admin", at=now())
    answer = practice.client.get("/console/", follow_redirects=False)
    assert answer.headers["location"] == "/console/sign-in?ended=ended"
    [out] = entries(practice, "sign-out")
    assert (out.actor_id, out.reason) == ("sup", "the staff member is deactivated")


def test_a_new_session_never_keeps_a_planted_value(practice: Practice) -> None:
    client = practice.client
    client.cookies.set("ledger_console_pre", "planted-by-someone-else-0123456789",
                       path="/console")
    form = client.get("/console/sign-in")
    client.post("/console/sign-in", follow_redirects=False,
                data={"token": practice.tokens["comp"], "csrf": csrf_of(form.text)})
    session = str(client.cookies.get(SESSION))
    assert "planted" not in session


def test_any_active_member_may_sign_in_but_pages_follow_the_roles(practice: Practice) -> None:
    sign_in(practice, "dr-lee")
    home = practice.client.get("/console/")
    assert "Access log" not in home.text
    refused = practice.client.get("/console/access-log")
    assert refused.status_code == 403
    assert "role clinician may not read the access log" in refused.text
    denied = [e for e in entries(practice, "list") if e.outcome == "denied"]
    assert denied[-1].actor_id == "dr-lee"


def test_the_idle_time_is_a_setting(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = load_settings(str(tmp_path), environ={"LEDGER_CONSOLE_IDLE_SECONDS": "120"})
    assert settings.console_idle_seconds == 120
    for bad in ("0", "3601", "ten", "-5"):
        with pytest.raises(BadInput, match="LEDGER_CONSOLE_IDLE_SECONDS must be a whole "
                                           "number of seconds from 1 to 3600"):
            load_settings(str(tmp_path), environ={"LEDGER_CONSOLE_IDLE_SECONDS": bad})
    assert replace(settings, console_idle_seconds=1).console_idle_seconds == 1


def _events(practice: Practice) -> list[object]:
    from tests.conftest import all_events

    return all_events(practice.lg)
