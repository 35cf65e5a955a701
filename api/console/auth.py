"""Signing in and out of the console.

``GET /console/sign-in`` shows the form (and ends a session found idle, recorded);
``POST /console/sign-in`` takes a staff token, verified by the same authenticator as the
API's bearer tokens (a failure is recorded there, and counts towards the source's
throttle), and starts a session, recorded as a ``sign-in``; ``POST /console/sign-out``
ends it, recorded as a ``sign-out``. A new session always gets a new secret, so a value
planted in a browser before signing in is never the session's.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from api.caller import ledger_of, now, source
from api.console.cookies import PRE_SESSION, SESSION, new_pre_session, pre_session_ok
from api.console.web import (
    COOKIE_PATH,
    ConsoleRoute,
    FormRefused,
    SignInNeeded,
    Viewer,
    key_of,
    posted,
    redirect,
    render,
    set_session_cookie,
    signed_in,
)
from ledger.errors import Unauthenticated

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

NOTICES = {
    "idle": "You were signed out after a period without activity.",
    "signed-out": "You have signed out.",
    "ended": "Your session has ended. Please sign in again.",
    "check": "Your session could not be read. Please sign in again.",
}


@router.get("/sign-in")
async def sign_in_form(request: Request, ended: str | None = None) -> Response:
    try:
        await signed_in(request)
    except SignInNeeded as e:
        ended = ended or e.why
    else:
        return redirect("/console/")
    return _form(request, notice=NOTICES.get(ended or ""))


@router.post("/sign-in")
def sign_in(request: Request, token: Annotated[str, Form(max_length=20_000)] = "",
            csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
    lg = ledger_of(request)
    at = now()
    pre = pre_session_ok(request.cookies.get(PRE_SESSION))
    if not key_of(request).form_token_ok(pre, csrf):
        lg.authenticator.failed("a console sign-in form without a valid anti-forgery token",
                                source=source(request), at=at)
        raise FormRefused
    try:
        principal = lg.authenticator.authenticate(f"Bearer {token.strip()}",
                                                  source=source(request), at=at)
    except Unauthenticated:
        return _form(request, error="Sign-in failed. Check the token and try again.",
                     status=401)
    secret, _ = lg.console_sessions.sign_in(principal,
                                            idle_seconds=lg.settings.console_idle_seconds,
                                            at=at)
    response = redirect("/console/")
    set_session_cookie(request, response, secret, int(at.timestamp()))
    response.delete_cookie(PRE_SESSION, path=COOKIE_PATH)
    return response


@router.post("/sign-out")
def sign_out(request: Request, viewer: Annotated[Viewer, Depends(posted)]) -> Response:
    viewer.ledger.console_sessions.sign_out(viewer.secret, reason="signed out",
                                            at=viewer.at)
    response = redirect("/console/sign-in?ended=signed-out")
    response.delete_cookie(SESSION, path=COOKIE_PATH)
    return response


def _form(request: Request, *, notice: str | None = None, error: str | None = None,
          status: int = 200) -> Response:
    pre = pre_session_ok(request.cookies.get(PRE_SESSION)) or new_pre_session()
    response = render(request, "sign_in.html", status=status, notice=notice, error=error,
                      csrf=key_of(request).form_token(pre))
    response.set_cookie(PRE_SESSION, pre, path=COOKIE_PATH, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response
