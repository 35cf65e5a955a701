"""What a database failure means to the person who ran the command.

Drivers raise their own errors (wrapped by SQLAlchemy, or by eventsourcing's persistence
errors); their messages may quote statements and parameters, so they are never shown.
:func:`explain` recognises the few a person can act on and gives a ledger error with a
clear line instead: busy (another process holds the lock: try again, its own exit code)
and read-only (this command writes, and the files or the database refuse writes).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from ledger.errors import Busy, LedgerError, ReadOnly

# SQLite's messages (sqlite3 gives no codes before Python 3.11's sqlite_errorname).
_SQLITE_BUSY = ("database is locked", "database table is locked", "database schema is locked")
_SQLITE_READ_ONLY = ("attempt to write a readonly database", "readonly database")
_SQLITE_CANNOT_OPEN = ("unable to open database file",)
# PostgreSQL SQLSTATEs: lock_not_available, serialization_failure, deadlock_detected;
# read_only_sql_transaction, insufficient_privilege.
_PG_BUSY = frozenset({"55P03", "40001", "40P01"})
_PG_READ_ONLY = frozenset({"25006", "42501"})


def explain(error: BaseException) -> LedgerError | None:
    """A ledger error for a driver failure a person can act on, else None."""
    for cause in _chain(error):
        if isinstance(cause, sqlite3.OperationalError):
            message = str(cause).lower()
            if any(m in message for m in _SQLITE_BUSY):
                return busy()
            if any(m in message for m in _SQLITE_READ_ONLY):
                return read_only()
            if any(m in message for m in _SQLITE_CANNOT_OPEN):
                return ReadOnly("a database file cannot be opened: it, its directory or the "
                                "files beside it are read-only or unreadable (check the "
                                "permissions of the data directory); nothing was saved")
        state = getattr(cause, "sqlstate", None)
        if state in _PG_BUSY:
            return busy()
        if state in _PG_READ_ONLY:
            return read_only()
    return None


def busy() -> Busy:
    return Busy("the database is busy: another process holds its lock; nothing was saved, "
                "try again")


def read_only() -> ReadOnly:
    return ReadOnly("the database cannot be written (a read-only data directory or file, or "
                    "no write permission); nothing was saved. Reading commands such as "
                    "ledger verify work on a read-only copy")


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error, what it wraps (``orig``, cause, context), and so on, once each."""
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        e = pending.pop(0)
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        pending.extend(x for x in (getattr(e, "orig", None), e.__cause__, e.__context__)
                       if isinstance(x, BaseException))
