"""The console's CSV export of the access log: RFC 4180 text that a spreadsheet reads back
cell for cell, every record field in it, and no cell a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
from dataclasses import fields, replace
from datetime import UTC, datetime
from uuid import UUID

import pytest

from api.console.csv_export import COLUMNS, access_csv, cell
from ledger.views import AccessRecord
from ledger.vocabulary import ACCESS_LOG_FIELDS

CLIENT = UUID("7f0c0a52-1111-4a4a-9b9b-0123456789ab")
READ = AccessRecord(
    store="main", position=17, at=datetime(2026, 1, 15, 9, 30, 5, tzinfo=UTC),
    actor_id="dr-lee", actor_role="clinician", action="access", outcome="granted",
    object_type="progress-note", object_id="0d1e2f30-0000-4000-8000-000000000001",
    client_id=CLIENT, purpose="TREAT", reason=None, break_glass=False)
RELEASE = replace(READ, position=18, action="disclose", recipient="Smith, \"Jo\"\nEsq.",
                  recipient_type="attorney", reason="=HYPERLINK(\"http://x\")",
                  break_glass=True, accountable=True, purpose=None)


def parsed(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_header_and_rows_read_back_cell_for_cell() -> None:
    text = access_csv([READ, RELEASE])
    assert text.startswith(",".join(COLUMNS) + "\r\n") and text.endswith("\r\n")
    header, first, second = parsed(text)
    assert tuple(header) == COLUMNS
    row = dict(zip(header, first, strict=True))
    assert row["at"] == "2026-01-15T09:30:05+00:00"
    assert (row["store"], row["actor_id"], row["outcome"], row["break_glass"]) == (
        "main", "dr-lee", "granted", "no")
    assert (row["client_id"], row["reason"], row["accountable"], row["position"]) == (
        str(CLIENT), "", "", "17")
    other = dict(zip(header, second, strict=True))
    assert other["recipient"] == "Smith, \"Jo\"\nEsq."  # quoted, with its comma and newline
    assert (other["break_glass"], other["accountable"], other["purpose"]) == ("yes", "yes", "")


def test_every_record_field_is_a_column_once() -> None:
    assert sorted(COLUMNS) == sorted(ACCESS_LOG_FIELDS)
    assert sorted(COLUMNS) == sorted(f.name for f in fields(AccessRecord))


@pytest.mark.parametrize("text", ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx",
                                  "=HYPERLINK(\"http://x\")"])
def test_a_cell_a_spreadsheet_would_run_stays_text(text: str) -> None:
    assert cell(text) == f"'{text}"
    _, row = parsed(access_csv([replace(READ, reason=text, actor_id=text)]))
    assert row[COLUMNS.index("reason")] == row[COLUMNS.index("actor_id")] == f"'{text}"


@pytest.mark.parametrize("text", ["dr-lee", "a=b", "1-2", "'quoted", "", " =x"])
def test_other_cells_are_kept_as_they_are(text: str) -> None:
    assert cell(text) == text


def test_no_records_is_the_header_alone() -> None:
    assert parsed(access_csv([])) == [list(COLUMNS)]
