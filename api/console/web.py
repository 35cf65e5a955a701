"""What every console page shares: who is signed in (:func:`signed_in`, and
:func:`posted` for a form, whose anti-forgery token it checks), rendering a template with
the headers a page of clinical metadata needs, and errors as pages.

A request without a live session goes to the sign-in page: no cookie, a cookie that fails
its check (recorded as a failed authentication), a session idle longer than the setting
(signed out, recorded), or one ended or of a deactivated staff member. A form without a
valid token is refused (403, recorded) before anything is done.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from api.caller import ledger_of, now, source
from api.console.cookies import SESSION, CookieKey
from api.problems import DEFAULT_KIND, KINDS
from ledger.errors import LedgerError, Refused
from ledger.rules import roles
from ledger.rules.roles import Rule, StaffView

if TYPE_CHECKING:
    from ledger.bootstrap import Ledger
    from ledger.services.console_sessions import Session

SIGN_IN = "/console/sign-in"
COOKIE_PATH = "/console"
TEMPLATES = Environment(loader=PackageLoader("api.console", "templates"),
                        autoescape=select_autoescape(default=True, default_for_string=True),
                        trim_blocks=True, lstrip_blocks=True)
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; script-src 'self'; "
                               "img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
                               "base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
# The pages, in the order of the menu: path, name, and the rule that decides who may.
PAGES: tuple[tuple[str, str, Rule | None], ...] = (
    ("/console/access-log", "Access log", roles.READ_AUDIT),
    ("/console/clients/timeline", "Client timeline", roles.READ_AUDIT),
    ("/console/investigation", "Investigator's report", roles.READ_AUDIT),
    ("/console/accounting", "Accounting of disclosures", roles.READ_AUDIT),
    ("/console/retention", "Retention", roles.MANAGE_RETENTION),
    ("/console/integrity", "Integrity", roles.HANDLE_EVIDENCE),
)


class SignInNeeded(Exception):
    def __init__(self, why: str | None = None) -> None:
        super().__init__(why)
        self.why = why


class FormRefused(Exception):
    """A form post without a valid anti-forgery token."""


@dataclass
class Viewer:
    """The signed-in staff member of one request."""

    ledger: Ledger
    session: Session
    at: datetime
    secret: str
    form_token: str
    idle_seconds: int

    @property
    def by(self) -> str:
        return self.session.staff_id

    @contextmanager
    def acting(self) -> Iterator[None]:
        from ledger.services.authentication import acting_for  # noqa: PLC0415

        with acting_for(self.session.principal):
            yield

    def may(self, rule: Rule) -> bool:
        """For the menu only: whether the roles table lets this role use the page."""
        staff = StaffView(self.session.staff_id, self.session.role, True)
        return roles.decide(staff, rule, what="page").granted

    @property
    def menu(self) -> list[tuple[str, str]]:
        return [(path, name) for path, name, rule in PAGES if rule is None or self.may(rule)]


def key_of(request: Request) -> CookieKey:
    key: CookieKey = request.app.state.console_key
    return key


async def signed_in(request: Request) -> Viewer:
    """The live session of this request, else :class:`SignInNeeded`."""
    return await _viewer(request)


async def posted(request: Request) -> Viewer:
    """As :func:`signed_in`, for a form post: its anti-forgery token must be valid."""
    viewer = await _viewer(request)
    form = await request.form()
    token = form.get("csrf")
    if not key_of(request).form_token_ok(viewer.secret, token if isinstance(token, str)
                                         else None):
        await _failed(request, "a console form without a valid anti-forgery token",
                      viewer.at)
        raise FormRefused
    return viewer


async def _viewer(request: Request) -> Viewer:
    lg = ledger_of(request)
    at = now()
    cookie = key_of(request).read_session(request.cookies.get(SESSION))
    if cookie is None:
        raise SignInNeeded
    if isinstance(cookie, str):
        await _failed(request, cookie, at)
        raise SignInNeeded("check")
    idle = lg.settings.console_idle_seconds
    if at.timestamp() - cookie.last_seen > idle:
        await run_in_threadpool(lambda: lg.console_sessions.sign_out(
            cookie.secret, reason=f"automatic logoff after {_span(idle)} without a request",
            at=at))
        raise SignInNeeded("idle")
    session = await run_in_threadpool(lambda: lg.console_sessions.resume(cookie.secret,
                                                                          at=at))
    if isinstance(session, str):
        raise SignInNeeded("ended")
    viewer = Viewer(lg, session, at, cookie.secret, key_of(request).form_token(cookie.secret),
                    idle)
    request.state.viewer = viewer
    return viewer


async def _failed(request: Request, why: str, at: datetime) -> None:
    lg = ledger_of(request)
    await run_in_threadpool(lambda: lg.authenticator.failed(why, source=source(request), at=at))


def _span(seconds: int) -> str:
    if seconds % 60 == 0:
        minutes = seconds // 60
        return f"{minutes} idle minute{'s' if minutes != 1 else ''}"
    return f"{seconds} idle second{'s' if seconds != 1 else ''}"


# ----- rendering --------------------------------------------------------------------------------

def render(request: Request, template: str, *, status: int = 200, **context: Any) -> Response:
    """The page, for the request's viewer if any; a viewer's cookie is renewed (its last
    request is now)."""
    viewer: Viewer | None = getattr(request.state, "viewer", None)
    html = TEMPLATES.get_template(template).render(viewer=viewer, request=request, **context)
    response = Response(html, status_code=status, media_type="text/html; charset=utf-8",
                        headers=HEADERS)
    if viewer is not None:
        set_session_cookie(request, response, viewer.secret, int(viewer.at.timestamp()))
    return response


def set_session_cookie(request: Request, response: Response, secret: str,
                       last_seen: int) -> None:
    response.set_cookie(SESSION, key_of(request).session_value(secret, last_seen),
                        path=COOKIE_PATH, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")


def redirect(to: str) -> Response:
    return RedirectResponse(to, status_code=303, headers=HEADERS)


# ----- errors as pages ----------------------------------------------------------------------------

def error_page(request: Request, status: int, title: str, detail: str) -> Response:
    return render(request, "error.html", status=status, title=title, detail=detail)


def _for_error(request: Request, error: Exception) -> Response:
    if isinstance(error, SignInNeeded):
        response = redirect(SIGN_IN + (f"?ended={error.why}" if error.why else ""))
        response.delete_cookie(SESSION, path=COOKIE_PATH)
        return response
    if isinstance(error, FormRefused):
        return error_page(request, 403, "This form was not accepted",
                          "The form's security token is missing or out of date, so nothing "
                          "was done. Open the page again and resubmit. The attempt was "
                          "recorded.")
    if isinstance(error, RequestValidationError):
        where = "; ".join(".".join(str(p) for p in e.get("loc", ())[1:]) + ": "
                          + str(e.get("msg", "invalid")) for e in error.errors())
        return error_page(request, 422, "Bad input", where or "invalid request")
    assert isinstance(error, LedgerError)
    status, _, title = next(((s, slug, t) for kind, s, slug, t in KINDS
                             if isinstance(error, kind)), DEFAULT_KIND)
    if isinstance(error, Refused):
        title = "Not allowed"
    return error_page(request, status, title, str(error))


class ConsoleRoute(APIRoute):
    """A console route: its errors are pages, and a missing session is the sign-in page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except (SignInNeeded, FormRefused, RequestValidationError, LedgerError) as e:
                return _for_error(request, e)

        return handle
