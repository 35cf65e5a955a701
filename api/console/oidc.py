"""Signing in to the console with the practice's identity provider (OpenID Connect,
authorization code with PKCE; :mod:`ledger.services.oidc_login` does the protocol).

``GET /console/sign-in/oidc`` begins an attempt and sends the browser to the provider; the
attempt (state, nonce, PKCE verifier, start) stays in the browser in a cookie MAC'd under
the console key, HttpOnly, Secure under TLS, for 10 minutes, on the sign-in path only.
That cookie is ``SameSite=Lax``, not Strict: the provider sends the browser back with a
top-level cross-site navigation, on which a Strict cookie is not sent, while Lax still
keeps it from cross-site subrequests and posts. It holds nothing that signs anyone in: the
code it would redeem comes from the provider, for the registered callback only.

``GET /console/sign-in/oidc/callback`` finishes the attempt; what the ID token proves goes
to the authenticator, which records a failure (``console sign-in: ...``) and counts it
against the source (a return without this browser's attempt is recorded but not counted:
another site's page can send browsers there), and the browser gets the sign-in page with
a generic message. A
success starts a session (recorded as a ``sign-in``) whose cookie is SameSite=Strict; the
answer is a page that moves on to the console by itself, not a redirect, because a
redirect would still belong to the provider's cross-site navigation and the browser would
hold back the new Strict cookie on it.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from api.caller import ledger_of, now, source
from api.console.auth import end_earlier_session
from api.console.cookies import OIDC_ATTEMPT, PRE_SESSION
from api.console.web import (
    COOKIE_PATH,
    HEADERS,
    SIGN_IN,
    ConsoleRoute,
    key_of,
    redirect,
    render,
    set_session_cookie,
)
from ledger.errors import NotFound, Unauthenticated
from ledger.services.oidc import Verified
from ledger.services.oidc_login import PENDING_TTL, OidcSignIn

router = APIRouter(prefix="/console/sign-in/oidc", route_class=ConsoleRoute,
                   include_in_schema=False)
ATTEMPT_PATH = "/console/sign-in/oidc"
HOME = "/console/"


def _flow(request: Request) -> OidcSignIn:
    flow = ledger_of(request).console_sign_in
    if flow is None:
        raise NotFound("sign-in with an identity provider is not configured")
    return flow


@router.get("")
def begin(request: Request) -> Response:
    url, pending = _flow(request).begin(now())
    response = RedirectResponse(url, status_code=303, headers=HEADERS)
    response.set_cookie(OIDC_ATTEMPT, key_of(request).attempt_value(pending),
                        max_age=int(PENDING_TTL.total_seconds()), path=ATTEMPT_PATH,
                        httponly=True, samesite="lax", secure=request.url.scheme == "https")
    return response


@router.get("/callback")
def callback(request: Request, code: str | None = None, state: str | None = None,
             error: str | None = None) -> Response:
    lg, at = ledger_of(request), now()
    flow = _flow(request)
    pending = key_of(request).read_attempt(request.cookies.get(OIDC_ATTEMPT))

    def prove() -> Verified | str:
        if isinstance(pending, str):
            return pending
        return flow.finish(pending, code=code, state=state, at=at, error=error)

    try:
        if isinstance(pending, str):  # no attempt of this browser's: no credential checked
            lg.authenticator.failed(f"console sign-in: {pending}", source=source(request),
                                    at=at, count=False)
            raise Unauthenticated(pending)
        principal = lg.authenticator.signed_in(prove, source=source(request), at=at)
    except Unauthenticated:
        response = redirect(f"{SIGN_IN}?ended=oidc")
    else:
        end_earlier_session(request, at)
        secret, _ = lg.console_sessions.sign_in(
            principal, idle_seconds=lg.settings.console_idle_seconds, at=at)
        response = render(request, "signed_in.html", home=HOME)
        set_session_cookie(request, response, secret, int(at.timestamp()))
        response.delete_cookie(PRE_SESSION, path=COOKIE_PATH)
    response.delete_cookie(OIDC_ATTEMPT, path=ATTEMPT_PATH, httponly=True, samesite="lax",
                           secure=request.url.scheme == "https")
    return response
