"""The outermost layer of the HTTP service: a bounded request body, one access-log line per
request that carries no PHI, and the last word on errors nothing else answered.

The access line is the method, the route's path *template* (``/v1/notes/{note_id}``, never
the path as requested), the status and the duration: no query string, no header, no body,
no client address. Uvicorn's own access log is turned off (``ledger serve``), since it
prints the raw path and query.

An exception that reaches this layer is a database failure a person can act on (busy,
read-only: :func:`ledger.persistence.failures.explain`), a file of the server's that cannot
be read or written (503, its path not shown), or unexpected: a 500 with no detail, logged
by its kind only (its message may quote database parameters; ``LEDGER_DEBUG=1`` logs the
traceback, for developers).
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import from_ledger_error, problem, unexpected
from ledger.aggregates.note import MAX_NOTE_BYTES

ACCESS = logging.getLogger("api.access")
ERRORS = logging.getLogger("api.error")

# A note of the largest size, every character escaped in JSON (\u00XX), and room for the
# other fields.
MAX_BODY_BYTES = 6 * MAX_NOTE_BYTES + 64 * 1024
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "<no route>"


class BodyTooLarge(HTTPException):
    """Raised while the body is read; FastAPI lets an HTTPException through as it is."""

    def __init__(self) -> None:
        super().__init__(413, f"the request body is larger than {MAX_BODY_BYTES} bytes")


class Outermost:
    def __init__(self, app: ASGIApp, *, max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state: dict[str, Any] = {"status": 500, "responded": False, "received": 0}

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                state["responded"] = True
            await send(message)

        async def receiving() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > self.max_body:
                    raise BodyTooLarge
            return message

        try:
            if _declared_length(scope) > self.max_body:
                await _answer(problem(413, "too-large", "Content Too Large",
                                      str(BodyTooLarge().detail)), scope, receive, sending)
            else:
                await self.app(scope, receiving, sending)
        except Exception as e:  # the last word: nothing below answered
            if not state["responded"]:
                await _answer(_response_for(e), scope, receive, sending)
        finally:
            ACCESS.info("%s %s %d %.1fms", _method(scope), template(scope), state["status"],
                        (time.perf_counter() - started) * 1000)


def template(scope: Scope) -> str:
    """The path template of the route that served the request (never the raw path)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


def _method(scope: Scope) -> str:
    method = scope.get("method", "")
    return method if method in METHODS else "OTHER"


def _declared_length(scope: Scope) -> int:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


def _response_for(error: Exception) -> Any:
    from ledger.persistence.failures import explain  # noqa: PLC0415 (on failure only)

    if isinstance(error, BodyTooLarge):
        return problem(413, "too-large", "Content Too Large", str(error.detail))
    known = explain(error)
    if known is not None:
        return from_ledger_error(known)
    if isinstance(error, OSError):  # a file of the server's (never named: it is not theirs)
        ERRORS.error("%s: %s", type(error).__name__, error.strerror)
        return problem(503, "server-files", "Service unavailable",
                       "the server cannot read or write a file it needs "
                       f"({error.strerror or type(error).__name__}); nothing more was done")
    if os.environ.get("LEDGER_DEBUG"):
        ERRORS.exception("unexpected %s", type(error).__name__)
    else:
        ERRORS.error("unexpected %s (LEDGER_DEBUG=1 logs the traceback)",
                     type(error).__name__)
    return unexpected()


async def _answer(response: Any, scope: Scope, receive: Receive, send: Send) -> None:
    await response(scope, receive, send)
