"""``/v1/notes``: progress notes (``ledger note``). Every read is recorded before the
content is returned; a break-the-glass read has its own operation, its reason in the
body."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.caller import CallerDep
from api.fields import (
    Body,
    ClientQuery,
    ClientRef,
    Code,
    Day,
    IdempotencyKey,
    NoteText,
    RequestId,
    Text,
    request_id,
)
from api.problems import responses
from ledger.dates import parse_day
from ledger.views import NoteContent, NoteSummary

router = APIRouter(prefix="/v1/notes", tags=["progress notes"])

Version = Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Version N")]


class NoteWrite(Body):
    client: ClientRef
    text: NoteText
    session_date: Day | None = None
    request_id: RequestId | None = None


class NoteAmend(Body):
    text: NoteText
    reason: Text


class BreakGlass(Body):
    purpose: Code
    reason: Text
    version: Annotated[int | None, Field(ge=1, le=2**31 - 1)] = None


class NoteCreated(BaseModel):
    note: UUID


class NoteVersion(BaseModel):
    note: UUID
    version: int


@router.post("", status_code=201, response_model=NoteCreated,
             responses=responses(403, 404))
def write(body: NoteWrite, caller: CallerDep, key: IdempotencyKey = None) -> NoteCreated:
    """Write a progress note."""
    with caller.acting():
        note_id = caller.ledger.notes.write(
            body.client, body.text, by=caller.by,
            session_date=parse_day(body.session_date, "session_date"), at=caller.at,
            request_id=request_id(body.request_id, key))
    return NoteCreated(note=note_id)


@router.post("/{note_id}/versions", status_code=201, response_model=NoteVersion,
             responses=responses(403, 404, 410))
def amend(note_id: UUID, body: NoteAmend, caller: CallerDep) -> NoteVersion:
    """Append a new version of a note; older versions stay readable."""
    with caller.acting():
        version = caller.ledger.notes.amend(note_id, body.text, body.reason, by=caller.by,
                                            at=caller.at)
    return NoteVersion(note=note_id, version=version)


@router.get("/{note_id}", response_model=NoteContent, responses=responses(403, 404, 410))
def show(note_id: UUID, caller: CallerDep,
         purpose: Annotated[Code, Query(description="HL7 PurposeOfUse code")],
         version: Version = None) -> NoteContent:
    """One version of a note (the latest by default); the access is recorded first."""
    with caller.acting():
        return caller.ledger.notes.read(note_id, by=caller.by, purpose=purpose.upper(),
                                        version=version, at=caller.at)


@router.post("/{note_id}/break-glass", response_model=NoteContent,
             responses=responses(403, 404, 410))
def break_glass(note_id: UUID, body: BreakGlass, caller: CallerDep) -> NoteContent:
    """Read a note without the usual right, for immediately needed treatment: granted,
    flagged with the reason, and listed by the access log's break-glass filter."""
    with caller.acting():
        return caller.ledger.notes.read(note_id, by=caller.by, purpose=body.purpose.upper(),
                                        version=body.version, at=caller.at,
                                        break_glass_reason=body.reason)


@router.post("/search", response_model=list[NoteSummary], responses=responses(403, 404))
def list_notes(body: ClientQuery, caller: CallerDep) -> list[NoteSummary]:
    """A client's notes (ids, dates, versions; no content). Recorded."""
    with caller.acting():
        return caller.ledger.notes.list_notes(body.client, by=caller.by, at=caller.at)
