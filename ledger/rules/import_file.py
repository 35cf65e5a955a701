"""The history file ``ledger import`` reads (docs/import.md): JSON Lines, format 1.

Pure: bytes in, one :class:`ClientHistory` per client out, or :class:`ImportRejected`
naming every bad line (the first :data:`MAX_LISTED` of them, then how many in all). What
the file says is checked here, line by line, before the ledger is asked anything; what
depends on the ledger (a client recorded with other facts, an author who is not staff)
is checked by the import service, before anything is written.

Messages name the line and the field, never a value: a name, a date of birth or a
note's text never reaches an error message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, BinaryIO

from ledger.aggregates.note import MAX_NOTE_BYTES
from ledger.dates import DAY, EARLIEST
from ledger.errors import BadInput
from ledger.identifiers import CLIENT_REF, STAFF_ID
from ledger.vocabulary import FACILITIES, LICENSES, US_JURISDICTIONS

FORMAT = 1
HEADER_TYPE = "ledger-import"
MAX_LISTED = 20  # bad lines named in the error; the rest are counted
# A line holds at most one note: its text (JSON-escaped, up to 6 bytes a byte) and fields.
MAX_LINE_BYTES = 6 * MAX_NOTE_BYTES + 64 * 1024
PROGRESS_NOTE = "progress-note"
PSYCHOTHERAPY_NOTE = "psychotherapy-note"
END_KINDS = ("discharge", "termination")
# The earlier system's id of a note: its own ids often carry ':' or '/'.
SOURCE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}")

_FIELDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {  # type: (required, optional)
    "client": (frozenset({"client_ref", "name", "birth_date", "state"}), frozenset()),
    "episode": (frozenset({"client_ref", "state", "license", "start"}),
                frozenset({"facility", "end", "end_kind"})),
    "contact": (frozenset({"client_ref", "date"}), frozenset()),
    PROGRESS_NOTE: (frozenset({"client_ref", "source_id", "author_id", "written_on", "text"}),
                    frozenset({"session_date"})),
}
_FIELDS[PSYCHOTHERAPY_NOTE] = _FIELDS[PROGRESS_NOTE]


class ImportRejected(BadInput):
    """The file has bad lines; nothing was imported. ``problems``: one line each."""

    def __init__(self, problems: list[str], bad_lines: int) -> None:
        self.problems = tuple(problems)
        self.bad_lines = bad_lines
        shown = f" ({len(problems)} listed)" if bad_lines > len(problems) else ""
        self.summary = (f"{bad_lines} bad line{'s' if bad_lines != 1 else ''} in the file"
                        f"{shown}; nothing was imported")
        super().__init__("; ".join([*problems, self.summary]))


class LineError(Exception):
    """One bad line (internal: collected into :class:`ImportRejected`)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")


@dataclass(frozen=True)
class Episode:
    line: int
    state: str
    license: str
    facility: str | None
    start: date
    end: date | None
    end_kind: str | None

    @property
    def key(self) -> tuple[str, str, str | None, str]:
        """What names an episode: where, under which license, from when."""
        return (self.state, self.license, self.facility, self.start.isoformat())


@dataclass(frozen=True)
class Note:
    line: int
    kind: str  # progress-note or psychotherapy-note
    source_id: str
    author_id: str
    session_date: date | None
    written_on: date
    text: str


@dataclass
class ClientHistory:
    line: int
    client_ref: str
    name: str
    birth_date: date
    state: str
    episodes: list[Episode] = field(default_factory=list)
    contacts: list[tuple[int, date]] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)


class Problems:
    """Bad lines as they are found: the first ``MAX_LISTED`` kept, all counted."""

    def __init__(self) -> None:
        self.listed: list[str] = []
        self.count = 0

    def add(self, message: str) -> None:
        self.count += 1
        if len(self.listed) < MAX_LISTED:
            self.listed.append(message)

    def raise_any(self) -> None:
        if self.count:
            raise ImportRejected(self.listed, self.count)


def lines_of(stream: BinaryIO) -> Iterator[bytes]:
    """The stream's lines, none read past :data:`MAX_LINE_BYTES` (a longer one is
    skipped to its end and yielded cut, to be named as too long)."""
    while raw := stream.readline(MAX_LINE_BYTES + 1):
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while (rest := stream.readline(MAX_LINE_BYTES + 1)) and not rest.endswith(b"\n"):
                pass
        yield raw


def parse(lines: Iterable[bytes], *, today: date) -> list[ClientHistory]:
    """Every client's history in the file, in file order; ImportRejected if any line is
    bad (all lines are read first). Dates after ``today`` are refused."""
    problems = Problems()
    clients: dict[str, ClientHistory] = {}
    header = False
    for number, raw in enumerate(lines, 1):
        try:
            if not header:
                _header(number, raw)
                header = True
                continue
            if not raw.strip():
                continue  # a blank line (a trailing one, say) holds nothing
            _line(number, _object(number, raw), clients, today)
        except LineError as e:
            problems.add(str(e))
            header = True  # a bad header is one error; the lines after it are still read
    if not header:
        problems.add("line 1: the file is empty; it starts with the header line "
                     f'{{"type": "{HEADER_TYPE}", "format": {FORMAT}}}')
    problems.raise_any()
    return list(clients.values())


def _object(number: int, raw: bytes) -> dict[str, Any]:
    if len(raw) > MAX_LINE_BYTES:
        raise LineError(number, f"is longer than {MAX_LINE_BYTES} bytes")
    try:
        value = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_repeats)
    except _Repeated:
        raise LineError(number, "repeats a field") from None
    except UnicodeDecodeError:
        raise LineError(number, "is not UTF-8 text") from None
    except (json.JSONDecodeError, RecursionError):
        raise LineError(number, "is not a JSON value") from None
    if not isinstance(value, dict):
        raise LineError(number, "is not a JSON object")
    return value


class _Repeated(Exception):
    pass


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        raise _Repeated
    return value


def _header(number: int, raw: bytes) -> None:
    value = _object(number, raw)
    if value.get("type") != HEADER_TYPE or set(value) != {"type", "format"}:
        raise LineError(number, f'the first line is the header {{"type": "{HEADER_TYPE}", '
                                f'"format": {FORMAT}}}')
    if value["format"] != FORMAT or isinstance(value["format"], bool):
        raise LineError(number, f"format must be {FORMAT} (the only format this ledger reads)")


def _line(number: int, value: dict[str, Any], clients: dict[str, ClientHistory],
          today: date) -> None:
    kind = value.get("type")
    if not isinstance(kind, str) or kind not in _FIELDS:
        raise LineError(number, "type must be one of " + ", ".join(_FIELDS))
    required, optional = _FIELDS[kind]
    fields = set(value) - {"type"}
    unknown = sorted(fields - required - optional)
    if unknown:
        raise LineError(number, f"unknown field {json.dumps(unknown[0])[:40]} for a {kind} "
                                "line")
    missing = sorted(required - fields)
    if missing:
        raise LineError(number, f"{missing[0]} is required on a {kind} line")
    ref = _text(number, value, "client_ref")
    if not CLIENT_REF.fullmatch(ref):
        raise LineError(number, "client_ref must be 1 to 64 letters, digits and . _ @ -, "
                                "starting with a letter or digit")
    if kind == "client":
        if ref in clients:
            raise LineError(number, f"client_ref repeats the client of line "
                                    f"{clients[ref].line}")
        clients[ref] = _client(number, value, ref, today)
        return
    client = clients.get(ref)
    if client is None:
        raise LineError(number, "client_ref names no client line above this one")
    if kind == "episode":
        _add_episode(client, _episode(number, value, client, today))
    elif kind == "contact":
        on = _day(number, value, "date", today, client)
        client.contacts.append((number, on))
    else:
        _add_note(client, _note(number, kind, value, client, today))


def _client(number: int, value: dict[str, Any], ref: str, today: date) -> ClientHistory:
    name = _text(number, value, "name")
    if not name.strip():
        raise LineError(number, "name must not be empty")
    born = _day(number, value, "birth_date", today, None)
    return ClientHistory(line=number, client_ref=ref, name=name, birth_date=born,
                         state=_state(number, value))


def _episode(number: int, value: dict[str, Any], client: ClientHistory,
             today: date) -> Episode:
    license = _text(number, value, "license")
    if license not in LICENSES:
        raise LineError(number, "license must be one of " + ", ".join(LICENSES))
    facility = value.get("facility")
    if facility is not None and (not isinstance(facility, str) or facility not in FACILITIES):
        raise LineError(number, "facility must be null or one of " + ", ".join(FACILITIES))
    start = _day(number, value, "start", today, client)
    end = _day(number, value, "end", today, client) if value.get("end") is not None else None
    kind = value.get("end_kind")
    if (end is None) != (kind is None):
        raise LineError(number, "end and end_kind go together: give both, or neither for an "
                                "episode still open")
    if kind is not None and kind not in END_KINDS:
        raise LineError(number, "end_kind must be discharge or termination")
    if end is not None and end < start:
        raise LineError(number, "end is before start")
    return Episode(line=number, state=_state(number, value), license=license,
                   facility=facility, start=start, end=end, end_kind=kind)


def _add_episode(client: ClientHistory, episode: Episode) -> None:
    for earlier in client.episodes:
        if earlier.end is None:
            raise LineError(episode.line, f"the client's episode of line {earlier.line} is "
                                          "still open (no end): an open episode comes last")
        if earlier.key == episode.key:
            raise LineError(episode.line, f"repeats the episode of line {earlier.line}")
    client.episodes.append(episode)


def _note(number: int, kind: str, value: dict[str, Any], client: ClientHistory,
          today: date) -> Note:
    source_id = _text(number, value, "source_id")
    if not SOURCE_ID.fullmatch(source_id):
        raise LineError(number, "source_id must be 1 to 128 letters, digits and . _ : / @ -, "
                                "starting with a letter or digit")
    author = _text(number, value, "author_id")
    if not STAFF_ID.fullmatch(author):
        raise LineError(number, "author_id must be a staff id: 1 to 64 letters, digits and "
                                ". _ @ -, starting with a letter or digit")
    session = (_day(number, value, "session_date", today, client)
               if value.get("session_date") is not None else None)
    written = _day(number, value, "written_on", today, client)
    if session is not None and written < session:
        raise LineError(number, "written_on is before session_date")
    text = _text(number, value, "text")
    if not text.strip():
        raise LineError(number, "text is empty")
    if len(text.encode("utf-8")) > MAX_NOTE_BYTES:
        raise LineError(number, f"text is larger than {MAX_NOTE_BYTES} bytes")
    return Note(line=number, kind=kind, source_id=source_id, author_id=author,
                session_date=session, written_on=written, text=text)


def _add_note(client: ClientHistory, note: Note) -> None:
    for earlier in client.notes:
        if earlier.source_id == note.source_id:
            raise LineError(note.line, f"source_id repeats the note of line {earlier.line} "
                                       "(unique per client)")
    client.notes.append(note)


def _text(number: int, value: dict[str, Any], name: str) -> str:
    text = value.get(name)
    if not isinstance(text, str):
        raise LineError(number, f"{name} must be a string")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise LineError(number, f"{name} holds an unpaired surrogate escape") from None
    return text


def _state(number: int, value: dict[str, Any]) -> str:
    state = _text(number, value, "state")
    if state.upper() not in US_JURISDICTIONS:
        raise LineError(number, "state must be a two-letter US state code")
    return state.upper()


def _day(number: int, value: dict[str, Any], name: str, today: date,
         client: ClientHistory | None) -> date:
    text = _text(number, value, name)
    try:
        day = date.fromisoformat(text) if DAY.fullmatch(text) else None
    except ValueError:
        day = None
    if day is None:
        raise LineError(number, f"{name} must be a date like 2015-03-31")
    if day < EARLIEST:
        raise LineError(number, f"{name} is before {EARLIEST.isoformat()}")
    if day > today:
        raise LineError(number, f"{name} is in the future")
    if client is not None and day < client.birth_date:
        raise LineError(number, f"{name} is before the client's birth_date")
    return day
