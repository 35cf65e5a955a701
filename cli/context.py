"""Shared CLI plumbing: the clock, settings, the opened ledger, output helpers."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, is_dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import click

from ledger import settings as settings_module
from ledger.bootstrap import open_main, open_pn, remember_head
from ledger.errors import BadInput
from ledger.settings import Settings
from ledger.stores.main import MainLedger
from ledger.stores.psychotherapy import PsychotherapyStore
from ledger.views import NoteContent


def now() -> datetime:
    """The only clock: the CLI reads it and passes it down as ``at=``."""
    return datetime.now(UTC)


class State:
    def __init__(self, data_dir: str | None) -> None:
        self.data_dir = data_dir
        self._settings: Settings | None = None
        self._app: MainLedger | None = None
        self._pn: PsychotherapyStore | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = settings_module.load(self.data_dir)
        return self._settings

    @property
    def app(self) -> MainLedger:
        if self._app is None:
            self._app = open_main(self.settings)
        return self._app

    @property
    def pn(self) -> PsychotherapyStore:
        """The sealed psychotherapy-note store (opened only by commands that need it)."""
        if self._pn is None:
            self._pn = open_pn(self.settings, self.app)
        return self._pn

    def refuse_sealed_ids(self, note_ids: list[UUID]) -> None:
        """A psychotherapy-note id given to a progress-note command stops here, before the
        main store records an attempt naming it: nothing of the sealed store reaches the
        main one, not even an id."""
        for note_id in note_ids:
            if self.pn.has_note(note_id):
                raise BadInput(f"{note_id} is a psychotherapy note; use ledger pn show or "
                               "ledger disclose --pn")

    def wrote(self, at: datetime) -> None:
        """After a write: remember the new chain heads outside the database."""
        remember_head(self.settings, self.app, at)
        if self._pn is not None:
            remember_head(self.settings, self._pn, at)

    def close(self) -> None:
        if self._pn is not None:
            self._pn.close()
        if self._app is not None:
            self._app.close()


pass_state = click.make_pass_decorator(State)

json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
as_option = click.option("--as", "actor", required=True, metavar="STAFF",
                         help="Staff id of the person acting.")


def parse_date(value: str | None, what: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadInput(f"{what} must be a date like 2024-03-31, not {value!r}") from None


def parse_uuid(value: str, what: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise BadInput(f"{what} must be an id like 3f2b...-....; got {value!r}") from None


def json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(type(value).__name__)


def emit_json(value: Any) -> None:
    if is_dataclass(value) and not isinstance(value, type):
        value = asdict(value)
    elif isinstance(value, list):
        value = [asdict(v) if is_dataclass(v) and not isinstance(v, type) else v for v in value]
    click.echo(json.dumps(value, default=json_default, sort_keys=True))


def read_text(file: str | None) -> str:
    if file is not None:
        try:
            with open(file, encoding="utf-8") as f:
                return f.read()
        except (OSError, UnicodeDecodeError) as e:
            reason = getattr(e, "strerror", None) or "not UTF-8 text"
            raise BadInput(f"cannot read {file}: {reason}") from None
    if sys.stdin is None or sys.stdin.isatty():
        raise BadInput("give --file FILE or pipe the note text on stdin")
    return sys.stdin.read()


def echo_note(content: NoteContent) -> None:
    click.echo(f"note {content.note_id}  version {content.version} of {content.versions}")
    click.echo(f"author {content.author_id}  written {content.written_at.isoformat()}"
               + (f"  session {content.session_date}" if content.session_date else ""))
    if content.amendment_reason:
        click.echo(f"amendment reason: {content.amendment_reason}")
    click.echo("")
    click.echo(content.text)
