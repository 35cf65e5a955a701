"""The history file's format (docs/import.md): every kind of bad line is named by its line
and field, all lines are read, and no value (a name, a date of birth, a note's text)
reaches an error message."""

from __future__ import annotations

import io
import json
from datetime import date
from typing import Any

import pytest

from ledger.rules.import_file import (
    MAX_LINE_BYTES,
    MAX_LISTED,
    ImportRejected,
    lines_of,
    parse,
)

TODAY = date(2026, 2, 1)
HEADER: dict[str, Any] = {"type": "ledger-import", "format": 1}
CLIENT: dict[str, Any] = {"type": "client", "client_ref": "H-1", "name": "Zelda Secretname",
                          "birth_date": "1970-01-02", "state": "ny"}
EPISODE: dict[str, Any] = {"type": "episode", "client_ref": "H-1", "state": "NY",
                           "license": "psychologist", "facility": None, "start": "2015-01-05",
                           "end": "2015-12-01", "end_kind": "discharge"}
CONTACT: dict[str, Any] = {"type": "contact", "client_ref": "H-1", "date": "2015-03-01"}
NOTE: dict[str, Any] = {"type": "progress-note", "client_ref": "H-1", "source_id": "ehr:n/1",
                        "author_id": "dr-lee", "session_date": "2015-03-02",
                        "written_on": "2015-03-03", "text": "SECRET-TEXT of a session"}


def encode(*lines: dict[str, Any] | str) -> list[bytes]:
    return [(json.dumps(x) if isinstance(x, dict) else x).encode() + b"\n" for x in lines]


def rejected(*lines: dict[str, Any] | str) -> ImportRejected:
    with pytest.raises(ImportRejected) as caught:
        parse(encode(*lines), today=TODAY)
    message = str(caught.value)
    for secret in ("Zelda", "Secretname", "SECRET-TEXT", "1970-01-02"):
        assert secret not in message
    return caught.value


def one(*lines: dict[str, Any] | str, match: str) -> None:
    error = rejected(*lines)
    assert error.bad_lines == 1
    with pytest.raises(ImportRejected, match=match):
        raise error


def test_a_good_file_reads_into_client_histories() -> None:
    pn = NOTE | {"type": "psychotherapy-note", "source_id": "ehr:pn/1", "session_date": None}
    open_episode = EPISODE | {"license": "lcsw", "start": "2017-02-01", "end": None,
                              "end_kind": None}
    (history,) = parse(encode(HEADER, CLIENT, EPISODE, open_episode, CONTACT, NOTE, pn, ""),
                       today=TODAY)
    assert (history.client_ref, history.state, history.birth_date) == (
        "H-1", "NY", date(1970, 1, 2))
    assert [e.end for e in history.episodes] == [date(2015, 12, 1), None]
    assert history.contacts == [(5, date(2015, 3, 1))]
    assert [(n.kind, n.source_id, n.author_id, n.written_on) for n in history.notes] == [
        ("progress-note", "ehr:n/1", "dr-lee", date(2015, 3, 3)),
        ("psychotherapy-note", "ehr:pn/1", "dr-lee", date(2015, 3, 3))]
    assert history.notes[1].session_date is None


@pytest.mark.parametrize(("first", "match"), [
    ('{"type": "ledger-import", "format": 2}', r"^line 1: format must be 1"),
    ('{"type": "ledger-import"}', r"^line 1: the first line is the header"),
    (json.dumps(CLIENT), r"^line 1: the first line is the header"),
    ("not json", r"^line 1: is not a JSON value"),
])
def test_the_header_names_the_format(first: str, match: str) -> None:
    error = rejected(first, CLIENT)
    with pytest.raises(ImportRejected, match=match):
        raise error


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(ImportRejected, match=r"^line 1: the file is empty"):
        parse([], today=TODAY)


@pytest.mark.parametrize(("line", "match"), [
    ("[1, 2]", r"^line 2: is not a JSON object"),
    ('{"type": "client", "type": "client"}', r"^line 2: repeats a field"),
    ({"type": "visit"}, r"^line 2: type must be one of client, episode"),
    (CLIENT | {"ssn": "1"}, r'^line 2: unknown field "ssn" for a client line'),
    ({k: v for k, v in CLIENT.items() if k != "name"}, r"^line 2: name is required"),
    (CLIENT | {"client_ref": "bad ref"}, r"^line 2: client_ref must be 1 to 64"),
    (CLIENT | {"name": " "}, r"^line 2: name must not be empty"),
    (CLIENT | {"name": 7}, r"^line 2: name must be a string"),
    (CLIENT | {"name": "\ud800"}, r"^line 2: name holds an unpaired surrogate"),
    (CLIENT | {"birth_date": "02/01/1970"}, r"^line 2: birth_date must be a date like"),
    (CLIENT | {"birth_date": "1970-W01-1"}, r"^line 2: birth_date must be a date like"),
    (CLIENT | {"birth_date": "1899-12-31"}, r"^line 2: birth_date is before 1900-01-01"),
    (CLIENT | {"birth_date": "2026-02-02"}, r"^line 2: birth_date is in the future"),
    (CLIENT | {"state": "XX"}, r"^line 2: state must be a two-letter US state code"),
])
def test_a_bad_client_line_is_named(line: dict[str, Any] | str, match: str) -> None:
    one(HEADER, line, match=match)


def test_bad_utf8_is_named() -> None:
    with pytest.raises(ImportRejected, match=r"^line 2: is not UTF-8 text"):
        parse([json.dumps(HEADER).encode(), b'{"type": "\xff"}'], today=TODAY)


@pytest.mark.parametrize(("line", "match"), [
    (CLIENT, r"^line 3: client_ref repeats the client of line 2"),
    (EPISODE | {"client_ref": "H-2"}, r"^line 3: client_ref names no client line above"),
    (EPISODE | {"license": "shaman"}, r"^line 3: license must be one of psychologist"),
    (EPISODE | {"facility": "spa"}, r"^line 3: facility must be null or one of"),
    (EPISODE | {"end_kind": None}, r"^line 3: end and end_kind go together"),
    (EPISODE | {"end_kind": "death"}, r"^line 3: end_kind must be discharge or termination"),
    (EPISODE | {"end": "2014-12-31"}, r"^line 3: end is before start"),
    (EPISODE | {"start": "1969-12-31"}, r"^line 3: start is before the client's birth_date"),
    (CONTACT | {"date": "2026-02-02"}, r"^line 3: date is in the future"),
    (NOTE | {"source_id": "-x"}, r"^line 3: source_id must be 1 to 128"),
    (NOTE | {"author_id": "dr lee"}, r"^line 3: author_id must be a staff id"),
    (NOTE | {"written_on": "2015-03-01"}, r"^line 3: written_on is before session_date"),
    (NOTE | {"text": "  "}, r"^line 3: text is empty"),
    (NOTE | {"text": "x" * 1_000_001}, r"^line 3: text is larger than 1000000 bytes"),
    ({k: v for k, v in NOTE.items() if k != "written_on"},
     r"^line 3: written_on is required on a progress-note line"),
])
def test_a_bad_line_of_a_client_is_named(line: dict[str, Any], match: str) -> None:
    one(HEADER, CLIENT, line, match=match)


def test_an_open_episode_comes_last_and_none_repeats() -> None:
    still_open = EPISODE | {"end": None, "end_kind": None}
    one(HEADER, CLIENT, still_open, EPISODE | {"start": "2016-01-01", "end": "2016-02-01"},
        match=r"^line 4: the client's episode of line 3 is still open")
    one(HEADER, CLIENT, EPISODE, EPISODE, match=r"^line 4: repeats the episode of line 3")


def test_a_source_id_is_unique_per_client_across_both_kinds() -> None:
    one(HEADER, CLIENT, NOTE, NOTE | {"type": "psychotherapy-note"},
        match=r"^line 4: source_id repeats the note of line 3")
    other = CLIENT | {"client_ref": "H-2"}
    (_, second) = parse(encode(HEADER, CLIENT, NOTE, other, NOTE | {"client_ref": "H-2"}),
                        today=TODAY)
    assert second.notes[0].source_id == NOTE["source_id"]


def test_every_line_is_read_and_the_first_errors_listed_then_counted() -> None:
    bad = [CONTACT | {"date": "soon"}] * (MAX_LISTED + 5)
    error = rejected(HEADER, CLIENT, *bad)
    assert error.bad_lines == MAX_LISTED + 5
    assert len(error.problems) == MAX_LISTED
    assert error.problems[0].startswith("line 3: ")
    assert error.summary == (f"{MAX_LISTED + 5} bad lines in the file ({MAX_LISTED} listed); "
                             "nothing was imported")


def test_a_line_longer_than_the_limit_is_not_read_whole() -> None:
    stream = io.BytesIO(json.dumps(HEADER).encode() + b"\n" + b"x" * (MAX_LINE_BYTES + 10)
                        + b"\n" + json.dumps(CLIENT).encode() + b"\n")
    lines = list(lines_of(stream))
    assert [len(line) for line in lines][1] == MAX_LINE_BYTES + 1
    assert lines[2] == json.dumps(CLIENT).encode() + b"\n"
    with pytest.raises(ImportRejected, match=rf"^line 2: is longer than {MAX_LINE_BYTES}"):
        parse(lines, today=TODAY)
