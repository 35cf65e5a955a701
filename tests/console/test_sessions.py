"""Signing in and out of the console, the session cookie, the idle logoff and the
anti-forgery tokens, in process (the browser tests drive the same through Chromium)."""

from __future__ import annotations

import re

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


def _events(practice: Practice) -> list[object]:
    from tests.conftest import all_events

    return all_events(practice.lg)


@pytest.mark.parametrize("headers", [{"Sec-Fetch-Site": "cross-site"},
                                     {"Sec-Fetch-Site": "same-site"},
                                     {"Origin": "https://evil.example"}, {"Origin": "null"}])
def test_another_sites_page_cannot_post_a_form_or_lock_the_address_out(
        practice: Practice, headers: dict[str, str]) -> None:
    """A page elsewhere can make the browser post to the sign-in form (no cookie is needed
    for that): refused before anything is read, recorded or counted towards the throttle."""
    client = practice.client
    form = client.get("/console/sign-in")
    before = len(entries(practice, "authenticate"))
    for _ in range(15):
        answer = client.post("/console/sign-in", headers=headers,
                             data={"token": "lgst_" + "B" * 43, "csrf": csrf_of(form.text)})
        assert answer.status_code == 403
        assert "sent from another site&#39;s page" in answer.text
    assert len(entries(practice, "authenticate")) == before
    sign_in(practice, "comp")  # not throttled
    page = client.get("/console/access-log")
    refused = client.post("/console/access-log", headers=headers,
                          data={"csrf": csrf_of(page.text)})
    assert refused.status_code == 403 and "sent from another site&#39;s page" in refused.text
    own = client.post("/console/access-log", data={"csrf": csrf_of(page.text)},
                      headers={"Sec-Fetch-Site": "same-origin", "Origin": "http://testserver"})
    assert own.status_code == 200


def test_forms_without_their_token_are_recorded_but_never_lock_anyone_out(
        practice: Practice) -> None:
    client = practice.client
    client.get("/console/sign-in")
    for _ in range(15):
        assert client.post("/console/sign-in", data={"token": "x"}).status_code == 403
    reasons = [e.reason for e in entries(practice, "authenticate")]
    assert reasons.count("a console sign-in form without a valid anti-forgery token "
                         "(from testclient)") == 15
    assert not any((r or "").startswith("throttled") for r in reasons)
    sign_in(practice, "comp")


def test_a_session_ends_when_its_token_is_revoked(practice: Practice) -> None:
    """A lost laptop: the admin revokes the token; its console session ends with it."""
    sign_in(practice, "comp")
    assert practice.client.get("/console/access-log").status_code == 200
    token_id = practice.lg.tokens.verify(practice.tokens["comp"], now())
    assert not isinstance(token_id, str)
    practice.lg.tokens.revoke(token_id[1].id, by="admin", at=now(), reason="laptop lost")
    answer = practice.client.get("/console/access-log", follow_redirects=False)
    assert answer.headers["location"] == "/console/sign-in?ended=ended"
    [out] = entries(practice, "sign-out")
    assert (out.actor_id, out.reason) == ("comp", "its staff token was revoked")


def test_a_session_ends_after_twelve_hours_however_busy(practice: Practice) -> None:
    from datetime import timedelta

    from ledger.services.console_sessions import Session

    secret, _ = practice.lg.console_sessions.sign_in(
        practice.lg.tokens.verify(practice.tokens["comp"], now())[0],  # type: ignore[index]
        idle_seconds=900, at=now())
    assert isinstance(practice.lg.console_sessions.resume(
        secret, at=now() + timedelta(hours=11, minutes=59)), Session)
    assert practice.lg.console_sessions.resume(secret, at=now() + timedelta(hours=12)) == (
        "the session reached its 12-hour limit")
    [out] = entries(practice, "sign-out")
    assert out.reason == "the session reached its 12-hour limit"
    assert practice.lg.console_sessions.resume(secret, at=now()) == (
        "session ended (the session reached its 12-hour limit)")


def test_signing_in_again_ends_the_earlier_session(practice: Practice) -> None:
    first = sign_in(practice, "comp")
    practice.client.cookies.set(SESSION, first, path="/console")
    page = practice.client.get("/console/sign-in", follow_redirects=False)
    assert page.headers["location"] == "/console/"  # already signed in
    practice.client.cookies.set("ledger_console_pre", "p" * 32, path="/console")
    practice.client.post("/console/sign-in", follow_redirects=False,
                         data={"token": practice.tokens["sup"],
                               "csrf": key(practice).form_token("p" * 32)})
    [out] = entries(practice, "sign-out")
    assert (out.actor_id, out.reason) == ("comp", "replaced by a new sign-in")


def test_an_accounting_for_an_unknown_client_is_recorded(practice: Practice) -> None:
    sign_in(practice, "comp")
    page = practice.client.get("/console/accounting")
    answer = practice.client.post("/console/accounting",
                                  data={"csrf": csrf_of(page.text), "client": "C-404"})
    assert answer.status_code == 404
    assert "client C-404 not found" in answer.text
    missing = [e for e in entries(practice, "list") if e.object_type == "accounting"]
    assert [e.outcome for e in missing] == ["not-found"]


def test_the_accounting_letter_does_not_rest_on_the_read_model(practice: Practice) -> None:
    """The insider's trick: mark a disclosure's read-model row not accountable (or delete
    it). The command's default answer loses it; the console's letter, read from the log,
    does not."""
    from datetime import date

    import sqlalchemy as sa

    lg = practice.lg
    lg.clients.register("C-9", "Sam Poe", date(1980, 1, 1), "CA", by="desk", at=now())
    note = lg.notes.write("C-9", "Session note.", by="dr-lee", session_date=None, at=now())
    lg.notes.disclose("C-9", [note], by="comp", recipient="County coroner",
                      recipient_type="coroner", purpose="PUBHLTH", exception="CORONER_512g1",
                      assertion="written request on file", at=now())
    before = lg.audit.accounting("C-9", by="comp", at=now())
    assert len(before.lines) == 1
    with lg.main.engine.begin() as db:
        db.execute(sa.text("UPDATE ledger_access SET accountable = false "
                           "WHERE action = 'disclose'"))
    assert lg.audit.accounting("C-9", by="comp", at=now()).lines == ()
    assert len(lg.audit.accounting("C-9", by="comp", at=now(), from_log=True).lines) == 1
    sign_in(practice, "comp")
    page = practice.client.get("/console/accounting")
    letter = practice.client.post("/console/accounting",
                                  data={"csrf": csrf_of(page.text), "client": "C-9"})
    assert "County coroner" in letter.text
    assert "There were no such disclosures" not in letter.text
