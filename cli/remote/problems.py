"""The HTTP service's answers as the errors local mode raises, so the CLI's one error
boundary prints the same line and exits with the same code.

A problem (RFC 9457) names its kind in ``type`` (``urn:ledger:problem:<kind>``); the kind
gives the ledger error and the ``detail`` its message, which is the message the server's
ledger raised (never PHI). What local mode never meets has its own line:

| answer | exit | line |
|---|---|---|
| 401 | 6 | authentication failed (generic: the server says no more) |
| 429 | 5 | too many failed authentications from here, with the seconds to wait |
| 500, another 5xx without a problem | 1 | the server failed, with its status |
| no answer (refused, timed out, TLS) | 1 | cannot reach the server, and why |
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ledger.display import escape
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
)

if TYPE_CHECKING:
    import httpx

PROBLEM_TYPE = "urn:ledger:problem:"
MEDIA_TYPE = "application/problem+json"
UNAUTHENTICATED_EXIT = 6

KINDS: dict[str, type[LedgerError]] = {
    "bad-input": BadInput,
    "too-large": BadInput,
    "not-found": NotFound,
    "content-destroyed": ContentDestroyed,
    "refused": Refused,
    "integrity-failure": IntegrityFailure,
    "busy": Busy,
    "not-initialised": NotInitialised,
    "key-material": KeyMaterialError,
    "read-only": ReadOnly,
}


class NotAuthenticated(LedgerError):
    """The server did not accept the token (HTTP 401). It says why only in its own
    record of the failure, so this says no more either."""

    exit_code = UNAUTHENTICATED_EXIT


class Throttled(LedgerError):
    """Too many failed authentications from this address (HTTP 429): nothing was done;
    the same command works again after the wait (exit 5, as busy)."""

    exit_code = 5


class ServerFailed(LedgerError):
    """The server answered with an error of its own (5xx), or not in a way this version
    of the ledger reads."""


class Unreachable(LedgerError):
    """No answer: the server could not be reached, or did not answer in time."""


def problem_of(response: httpx.Response) -> dict[str, Any] | None:
    """The problem in ``response``, if it carries one."""
    if not response.headers.get("content-type", "").startswith(MEDIA_TYPE):
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def kind_of(problem: dict[str, Any] | None) -> str | None:
    kind = problem.get("type") if problem is not None else None
    return kind.removeprefix(PROBLEM_TYPE) if isinstance(kind, str) else None


def error_for(response: httpx.Response) -> LedgerError:
    """The ledger error an answer that is not a success stands for."""
    status = response.status_code
    problem = problem_of(response)
    if status == 401:
        return NotAuthenticated("authentication failed: the server did not accept the token "
                                "(check LEDGER_TOKEN or --token-file; a token may be expired "
                                "or revoked)")
    if status == 429:
        wait = _retry_after(response)
        return Throttled("too many failed authentications from this address: the server "
                         f"accepts none for {wait} s; nothing was done, try again then")
    kind = kind_of(problem)
    detail = problem.get("detail") if problem is not None else None
    if kind in KINDS and isinstance(detail, str) and detail:
        return KINDS[kind](detail)
    reason = escape(response.reason_phrase or "")
    if status >= 500:
        return ServerFailed(f"the server failed ({status} {reason}); nothing more is known "
                            "here: its log has the error")
    return ServerFailed(f"the server answered {status} {reason}"
                        + (f": {escape(detail)}" if isinstance(detail, str) and detail
                           else ""))


def _retry_after(response: httpx.Response) -> int:
    try:
        return max(1, int(response.headers.get("retry-after", "")))
    except ValueError:
        return 60
