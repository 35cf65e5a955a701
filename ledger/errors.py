"""The ledger's error types.

Every error a user can provoke is a subclass of :class:`LedgerError` with an
``exit_code`` the CLI maps to a process exit status. Messages never contain
note content, client identity or key material.
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base class: a one-line, user-facing message and an exit code."""

    exit_code = 1


class BadInput(LedgerError):
    """The request is malformed (bad date, unknown code, empty note)."""


class NotFound(LedgerError):
    """The object named does not exist."""


class NotInitialised(LedgerError):
    """The data directory or the stores have not been created by ``ledger init``."""


class KeyMaterialError(LedgerError):
    """A key-encryption key is missing, unreadable or does not match the store."""


class ContentDestroyed(LedgerError):
    """The content was crypto-shredded: its data key no longer exists."""


class IntegrityFailure(LedgerError):
    """A store failed verification: an event was edited, removed, inserted or reordered."""

    exit_code = 3


class Refused(LedgerError):
    """The access policy refused the request. The refusal itself was recorded."""

    exit_code = 4


class ReadOnly(LedgerError):
    """A command that writes met a database or data directory it may not write."""


class Busy(LedgerError):
    """Another writer holds the lock, or concurrent writers kept winning the same record;
    nothing was saved, and the same command may simply be run again."""

    exit_code = 5


class Unauthenticated(LedgerError):
    """No credential, or one that does not prove who is calling (HTTP 401). The message is
    for the security event, never for the caller, who is told only that authentication
    failed."""


class Throttled(LedgerError):
    """Too many failed authentications from one source; try again later (HTTP 429)."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
