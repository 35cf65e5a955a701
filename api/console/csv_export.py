"""The access log as a CSV file (RFC 4180), for a compliance officer's spreadsheet.

One header row, then one row per record, in the columns of ``ledger access-log`` (when,
store, who, as what, did what to what, the outcome and whether by break-the-glass, why,
which record, which client, to whom, the reason), then the record's other fields. A cell
that a spreadsheet would run as a formula (one starting with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return) gets a leading ``'`` so that it stays text (OWASP, "CSV
Injection").
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime

from ledger.views import AccessRecord

COLUMNS = ("at", "store", "actor_id", "actor_role", "action", "object_type", "outcome",
           "break_glass", "purpose", "object_id", "client_id", "recipient", "recipient_type",
           "reason", "legal_basis", "accountable", "assertion", "actor_via", "actor_os_user",
           "position")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def access_csv(records: Iterable[AccessRecord]) -> str:
    """The records as CSV text: a header row and one row per record, CRLF line ends."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for record in records:
        writer.writerow([cell(getattr(record, column)) for column in COLUMNS])
    return out.getvalue()


def cell(value: object) -> str:
    """One value as spreadsheet-safe text: empty for none, yes/no for a flag, ISO 8601 for
    a time, and a leading ``'`` before anything a spreadsheet would take for a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text
