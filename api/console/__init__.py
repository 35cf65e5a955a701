"""The compliance console: server-rendered pages at ``/console`` for compliance officers,
supervisors, investigators and the operator (issue 16).

Same services, rules and records as the commands and the API: every page is a recorded
use, decided by the roles table. Jinja2 templates, one stylesheet and one small script of
our own, nothing from another site; no client reference in a URL (reads by client are
form posts). Signing in is by a staff token or, when configured, the practice's OpenID
Connect provider; the session lives in an HttpOnly, SameSite=Strict cookie (Secure under
TLS), every form carries an anti-forgery token, and a session ends itself after the idle
time (``LEDGER_CONSOLE_IDLE_SECONDS``, default 15 minutes).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from api.console import auth, pages, reports

STATIC = Path(__file__).parent / "static"
ROUTERS = (auth.router, pages.router, reports.router)


def mount(app: FastAPI) -> None:
    """Add the console's routes and its static files to ``app``."""
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
