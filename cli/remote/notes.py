"""Progress notes and psychotherapy notes over the API (``/v1/notes``,
``/v1/psychotherapy-notes``), and their disclosures (``/v1/disclosures``): the methods of
:class:`ledger.services.notes.ProgressNotes` and
:class:`ledger.services.psychotherapy.PsychotherapyNotes` that the commands call.

``by`` and ``at`` are the server's to know: who calls is proven by the token, and the
server reads its own clock; they are taken, as local mode's services take them, and not
sent."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from cli.remote.connection import Connection
from cli.remote.decode import build, build_list, convert
from ledger.views import NoteContent, NoteSummary, Release


class Notes:
    """Progress notes."""

    path = "/v1/notes"
    created = "note"  # the field of the id of a note written
    disclosed = "notes"  # the field of the notes a disclosure releases

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def write(self, client_ref: str, text: str, *, by: str | None, session_date: date | None,
              at: datetime, request_id: str | None = None) -> UUID:
        answer = self.connection.call("POST", self.path, body={
            "client": client_ref, "text": text, "session_date": session_date,
            "request_id": request_id})
        return _field(answer, self.created, UUID)  # type: ignore[no-any-return]

    def amend(self, note_id: UUID, text: str, reason: str, *, by: str | None,
              at: datetime) -> int:
        answer = self.connection.call("POST", f"{self.path}/{note_id}/versions",
                                      body={"text": text, "reason": reason})
        return _field(answer, "version", int)  # type: ignore[no-any-return]

    def read(self, note_id: UUID, *, by: str | None, purpose: str, at: datetime,
             version: int | None = None, break_glass_reason: str | None = None
             ) -> NoteContent:
        if break_glass_reason is not None:
            return build(NoteContent, self.connection.call(
                "POST", f"{self.path}/{note_id}/break-glass",
                body={"purpose": purpose, "reason": break_glass_reason, "version": version}))
        return build(NoteContent, self.connection.call(
            "GET", f"{self.path}/{note_id}", params={"purpose": purpose, "version": version}))

    def list_notes(self, client_ref: str, *, by: str | None, at: datetime
                   ) -> list[NoteSummary]:
        return build_list(NoteSummary, self.connection.call(
            "POST", f"{self.path}/search", body={"client": client_ref}))

    def disclose(self, client_ref: str, note_ids: list[UUID], *, by: str | None,
                 recipient: str, recipient_type: str, purpose: str, at: datetime,
                 authorization_id: UUID | None = None, exception: str | None = None,
                 description: str | None = None, recipient_address: str | None = None,
                 assertion: str | None = None, request_id: str | None = None) -> Release:
        return build(Release, self.connection.call("POST", "/v1/disclosures", body={
            "client": client_ref, self.disclosed: note_ids, "to": recipient,
            "recipient_type": recipient_type, "recipient_address": recipient_address,
            "purpose": purpose, "authorization": authorization_id, "exception": exception,
            "assertion": assertion, "description": description, "request_id": request_id}))


class Psychotherapy(Notes):
    """Psychotherapy notes, in the sealed store."""

    path = "/v1/psychotherapy-notes"
    created = "psychotherapy_note"
    disclosed = "psychotherapy_notes"

    def read(self, note_id: UUID, *, by: str | None, purpose: str, at: datetime,
             version: int | None = None, authorization_id: UUID | None = None,
             exception: str | None = None, break_glass_reason: str | None = None
             ) -> NoteContent:
        if break_glass_reason is not None:  # recorded and refused: the server says so
            return build(NoteContent, self.connection.call(
                "POST", f"{self.path}/{note_id}/break-glass",
                body={"purpose": purpose, "reason": break_glass_reason}))
        return build(NoteContent, self.connection.call(
            "GET", f"{self.path}/{note_id}",
            params={"purpose": purpose, "version": version, "authorization": authorization_id,
                    "exception": exception}))


def _field(answer: Any, name: str, kind: type) -> Any:
    return convert(kind, answer.get(name) if isinstance(answer, dict) else None, name)
