"""Errors as ``application/problem+json`` (RFC 9457), in the categories of the CLI's exit
codes.

| error | status | CLI exit |
|---|---|---|
| BadInput, a request that fails validation | 422 | 1, 2 |
| NotFound | 404 | 1 |
| ContentDestroyed | 410 | 1 |
| Unauthenticated | 401 (generic body, ``WWW-Authenticate: Bearer``) | |
| Refused (the refusal is recorded) | 403 | 4 |
| IntegrityFailure | 409 | 3 |
| Busy | 409 with ``Retry-After`` | 5 |
| Throttled | 429 with ``Retry-After`` | |
| NotInitialised, KeyMaterialError, ReadOnly, a server file's OSError | 503 | 1 |
| anything else | 500, no detail | 1 |

An integrity failure is 409, not 503: the stored state conflicts with its known head or
signed checkpoint; it is not transient, and a retry (which 503 invites) would not help.
A ledger error's message never carries note content, client identity or keys, so it is
the ``detail``; an unexpected error's message may quote database parameters, so a 500
says nothing but its title.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse

from ledger.errors import (
    BadInput,
    Busy,
    ContentDestroyed,
    IntegrityFailure,
    KeyMaterialError,
    LedgerError,
    NotFound,
    NotInitialised,
    ReadOnly,
    Refused,
    Throttled,
    Unauthenticated,
)

MEDIA_TYPE = "application/problem+json"
BUSY_RETRY_AFTER = 1  # seconds: the lock is usually free again at once

# (error class, status, type slug, title); the first class that matches wins.
KINDS: tuple[tuple[type[LedgerError], int, str, str], ...] = (
    (Unauthenticated, 401, "unauthenticated", "Unauthorized"),
    (Throttled, 429, "throttled", "Too Many Requests"),
    (Refused, 403, "refused", "Refused by the access policy"),
    (ContentDestroyed, 410, "content-destroyed", "Content destroyed"),
    (NotFound, 404, "not-found", "Not found"),
    (IntegrityFailure, 409, "integrity-failure", "Integrity failure"),
    (Busy, 409, "busy", "Busy"),
    (NotInitialised, 503, "not-initialised", "Service unavailable"),
    (KeyMaterialError, 503, "key-material", "Service unavailable"),
    (ReadOnly, 503, "read-only", "Service unavailable"),
    (BadInput, 422, "bad-input", "Bad input"),
)
DEFAULT_KIND = (422, "bad-input", "Bad input")  # any other LedgerError: exit code 1
AUTHENTICATION_FAILED = "authentication failed"


def type_uri(slug: str) -> str:
    return f"urn:ledger:problem:{slug}"


class Problem(BaseModel):
    """An RFC 9457 problem detail. ``detail`` is absent from a 500."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="A URN naming the kind of problem, urn:ledger:problem:*")
    title: str
    status: int
    detail: str | None = None


def problem(status: int, slug: str, title: str, detail: str | None = None,
            headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": type_uri(slug), "title": title, "status": status}
    if detail is not None:
        body["detail"] = detail
    body.update(extra)
    return JSONResponse(body, status_code=status, headers=headers, media_type=MEDIA_TYPE)


def from_ledger_error(error: LedgerError, **extra: Any) -> JSONResponse:
    status, slug, title = next(((s, k, t) for cls, s, k, t in KINDS
                                if isinstance(error, cls)), DEFAULT_KIND)
    if isinstance(error, Unauthenticated):  # why it failed is for the security event only
        return problem(status, slug, title, AUTHENTICATION_FAILED,
                       headers={"WWW-Authenticate": 'Bearer realm="ledger"'})
    headers = None
    if isinstance(error, Throttled):
        headers = {"Retry-After": str(max(1, int(error.retry_after)))}
    elif isinstance(error, Busy):
        headers = {"Retry-After": str(BUSY_RETRY_AFTER)}
    return problem(status, slug, title, str(error), headers=headers, **extra)


def unexpected() -> JSONResponse:
    return problem(500, "internal", "Internal Server Error")


# ----- what the OpenAPI document declares ------------------------------------------------------

DESCRIPTIONS = {
    401: "No credential, or one that proves nothing (generic body; the failure is recorded)",
    403: "Refused by the access policy (the refusal is recorded)",
    404: "What the request names does not exist (the attempt is recorded where it names "
         "a record)",
    409: "Busy (Retry-After), or an integrity failure of a store",
    410: "The content was destroyed under the retention rules",
    413: "The request body is too large",
    422: "Bad input",
    429: "Too many failed authentications from this address (Retry-After)",
    500: "Unexpected error (no detail)",
    503: "The ledger is not initialised, a key is missing, or the store or a file of the "
         "server's cannot be written",
}
# What any operation may answer: authentication, a body too large (checked before the
# route is known), validation, a busy or damaged store, an unavailable ledger, an
# unexpected error.
COMMON = (401, 409, 413, 422, 429, 500, 503)


_RETRY_AFTER = {"description": "Seconds to wait before trying again",
                "schema": {"type": "integer"}}
HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"},
                               "required": True}},
    409: {"Retry-After": _RETRY_AFTER},  # present when busy
    429: {"Retry-After": {**_RETRY_AFTER, "required": True}},
}


def responses(*extra: int) -> dict[int | str, dict[str, Any]]:
    """The error statuses of one operation, for its ``responses=``."""
    return {status: {"model": Problem, "description": DESCRIPTIONS[status],
                     **({"headers": HEADERS[status]} if status in HEADERS else {})}
            for status in sorted({*COMMON, *extra})}
