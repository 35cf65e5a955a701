"""Dates and moments as people type them, with one meaning everywhere.

A *day* (``--from``, ``--to``, ``--on``, ``--received``, ``--dob``, ...) is a calendar date.
A *moment* (``--as-of``, ``retention --at``) is a date or an ISO time with a UTC offset;
a bare date means the end of that UTC day, so everything recorded that day counts, except
today, which means now. Front ends parse with these, so the CLI and the HTTP API agree.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING

from ledger.display import shown
from ledger.errors import BadInput

if TYPE_CHECKING:
    from uuid import UUID

END_OF_DAY = time(23, 59, 59, 999999)
# The days a person may give: wide enough for any date of birth, session or expiry, and
# far enough from the calendar's ends that no date arithmetic (six years back, a century
# of retention ahead, a day's end in UTC) overflows.
EARLIEST = date(1900, 1, 1)
LATEST = date(2999, 12, 31)
DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _within(day: date, what: str, value: str) -> date:
    if not EARLIEST <= day <= LATEST:
        raise BadInput(f"{what} must lie between {EARLIEST.isoformat()} and "
                       f"{LATEST.isoformat()}, not {shown(value)}")
    return day


def parse_day(value: str | None, what: str) -> date | None:
    """A calendar day written YYYY-MM-DD (Python also reads week dates such as 2015-W53-7
    and the basic form 20150101: neither is what a person typing a day means)."""
    if value is None:
        return None
    try:
        if not DAY.fullmatch(value):
            raise ValueError(value)
        day = date.fromisoformat(value)
    except ValueError:
        raise BadInput(f"{what} must be a date like 2024-03-31, not {shown(value)}") from None
    return _within(day, what, value)


def require_day(value: str | None, what: str) -> date:
    day = parse_day(value, what)
    if day is None:
        raise BadInput(f"{what} is required")
    return day


def parse_moment(value: str | None, what: str, *, now: datetime) -> datetime | None:
    """A date (the end of that UTC day; today: ``now``) or a time with a UTC offset."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadInput(f"{what} must be a date or time like 2026-03-31 or "
                       f"2026-03-31T17:00:00+00:00, not {shown(value)}") from None
    _within(moment.date(), what, value)
    if moment.tzinfo is not None:
        return moment.astimezone(UTC)
    if len(value) > 10:
        raise BadInput(f"{what} needs a UTC offset, like 2026-03-31T17:00:00+00:00")
    if moment.date() == now.astimezone(UTC).date():
        return now.astimezone(UTC)
    return datetime.combine(moment.date(), END_OF_DAY, UTC)


def parse_uuid(value: str, what: str) -> UUID:
    from uuid import UUID  # noqa: PLC0415 (only commands that take an id pay for it)

    try:
        return UUID(value)
    except ValueError:
        raise BadInput(f"{what} must be an id like 3f2b...-....; got {shown(value)}") from None
