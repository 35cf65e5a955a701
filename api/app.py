"""The HTTP service: ``create_app(settings)`` builds the FastAPI application.

One :class:`~ledger.bootstrap.Ledger` is opened per process when the application starts
(its lifespan) and closed when it stops; the endpoints are plain ``def`` functions, run in
the server's thread pool, over the same services the CLI calls. ``ledger serve`` runs it
through uvicorn with :func:`app_from_env` as the factory, so every worker process builds
its own from the same settings.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from starlette.exceptions import HTTPException
from starlette.responses import Response

import ledger as ledger_package
from api import console, routes
from api.console.cookies import CookieKey
from api.middleware import Outermost
from api.problems import MEDIA_TYPE, from_ledger_error, problem
from ledger.errors import LedgerError
from ledger.settings import Settings

DESCRIPTION = """The ledger's HTTP service: the same services as the `ledger` command, for
an authenticated caller (a staff token as a bearer token; a delegate token may act for an
end user named in `X-On-Behalf-Of`). Errors are `application/problem+json` (RFC 9457). No
client reference, name or note text is ever part of a URL: they go in JSON bodies."""


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from ledger.bootstrap import open_ledger  # noqa: PLC0415
        from ledger.keys.console import console_key  # noqa: PLC0415

        ledger = open_ledger(settings)
        try:
            ledger.pn  # noqa: B018 (the sealed store, opened once, before any request)
            app.state.console_key = CookieKey(console_key(settings))
        except BaseException:
            ledger.close()
            raise
        app.state.ledger = ledger
        try:
            yield
        finally:
            app.state.ledger.close()

    app = FastAPI(title="ledger", version=ledger_package.__version__, description=DESCRIPTION,
                  lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings
    for router in routes.ROUTERS:
        app.include_router(router)
    console.mount(app)
    app.add_exception_handler(LedgerError, _ledger_error)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_middleware(Outermost)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def app_from_env() -> FastAPI:
    """The factory ``ledger serve`` gives uvicorn: settings from the environment
    (``LEDGER_DATA_DIR`` and the rest, as the CLI reads them)."""
    from ledger.settings import load_settings  # noqa: PLC0415

    return create_app(load_settings())


# ----- errors ------------------------------------------------------------------------------------

def _ledger_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, LedgerError)
    return from_ledger_error(error)


def _invalid(request: Request, error: Exception) -> Response:
    """A request the declared types refuse: where and why, never the value given."""
    assert isinstance(error, RequestValidationError)
    errors = [{"location": ".".join(str(part) for part in e.get("loc", ())),
               "message": str(e.get("msg", "invalid"))} for e in error.errors()]
    detail = "; ".join(f"{e['location']}: {e['message']}" for e in errors)
    return problem(422, "bad-input", "Bad input", detail or "invalid request", errors=errors)


def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    from http import HTTPStatus  # noqa: PLC0415

    if error.status_code == 400:  # FastAPI's "error parsing the body" (not UTF-8, say)
        return problem(422, "bad-input", "Bad input", "the request body cannot be read as "
                       "JSON text (UTF-8)")
    title = HTTPStatus(error.status_code).phrase
    slug = title.lower().replace(" ", "-")
    return problem(error.status_code, slug, title, str(error.detail),
                   headers=dict(error.headers) if error.headers else None)


# ----- the OpenAPI document ------------------------------------------------------------------

def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, with every error response declared as problem+json."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description,
                         routes=app.routes)
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            for status, response in operation.get("responses", {}).items():
                if status.isdigit() and int(status) >= 400:
                    response["content"] = {MEDIA_TYPE: {"schema": problem_ref}}
    app.openapi_schema = schema
    return schema
