"""``/v1/psychotherapy-notes``: the sealed store's notes (``ledger pn``). Only the
originator reads a note for treatment without more; anyone else names a psychotherapy-note
authorization or one 164.508(a)(2) exception, and every read, granted or refused, is
recorded in the sealed store."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel

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
from ledger.errors import BadInput
from ledger.views import NoteContent, NoteSummary

router = APIRouter(prefix="/v1/psychotherapy-notes", tags=["psychotherapy notes"])


class PnWrite(Body):
    client: ClientRef
    text: NoteText
    session_date: Day | None = None
    request_id: RequestId | None = None


class PnAmend(Body):
    text: NoteText
    reason: Text


class PnBreakGlass(Body):
    purpose: Code
    reason: Text


class PnCreated(BaseModel):
    psychotherapy_note: UUID


class PnVersion(BaseModel):
    psychotherapy_note: UUID
    version: int


@router.post("", status_code=201, response_model=PnCreated,
             responses=responses(403, 404))
def write(body: PnWrite, caller: CallerDep, key: IdempotencyKey = None) -> PnCreated:
    """Write a psychotherapy note."""
    with caller.acting():
        note_id = caller.ledger.psychotherapy.write(
            body.client, body.text, by=caller.by,
            session_date=parse_day(body.session_date, "session_date"), at=caller.at,
            request_id=request_id(body.request_id, key))
    return PnCreated(psychotherapy_note=note_id)


@router.post("/{pn_id}/versions", status_code=201, response_model=PnVersion,
             responses=responses(403, 404, 410))
def amend(pn_id: UUID, body: PnAmend, caller: CallerDep) -> PnVersion:
    """Append a version (its originator only)."""
    with caller.acting():
        version = caller.ledger.psychotherapy.amend(pn_id, body.text, body.reason,
                                                    by=caller.by, at=caller.at)
    return PnVersion(psychotherapy_note=pn_id, version=version)


@router.get("/{pn_id}", response_model=NoteContent, responses=responses(403, 404, 410))
def show(pn_id: UUID, caller: CallerDep,
         purpose: Annotated[Code, Query(description="HL7 PurposeOfUse code")],
         authorization: Annotated[UUID | None, Query(
             description="A psychotherapy-note authorization naming you")] = None,
         exception: Annotated[Code | None, Query(
             description="One 164.508(a)(2) exception")] = None,
         version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> NoteContent:
    """A use of a psychotherapy note, if the guard allows; recorded first."""
    if authorization is not None and exception is not None:
        raise BadInput("give an authorization or an exception, not both")
    with caller.acting():
        return caller.ledger.psychotherapy.read(
            pn_id, by=caller.by, purpose=purpose.upper(), version=version,
            authorization_id=authorization, exception=exception, at=caller.at)


@router.post("/{pn_id}/break-glass", response_model=NoteContent,
             responses=responses(403, 404, 410))
def break_glass(pn_id: UUID, body: PnBreakGlass, caller: CallerDep) -> NoteContent:
    """Break-the-glass never opens a psychotherapy note: the attempt is recorded, flagged
    with its reason, and refused (403)."""
    with caller.acting():
        return caller.ledger.psychotherapy.read(
            pn_id, by=caller.by, purpose=body.purpose.upper(), at=caller.at,
            break_glass_reason=body.reason)


@router.post("/search", response_model=list[NoteSummary], responses=responses(403, 404))
def list_notes(body: ClientQuery, caller: CallerDep) -> list[NoteSummary]:
    """A client's psychotherapy notes (ids and dates, no content): a clinician sees the
    notes they originated, supervisors and compliance all. Recorded."""
    with caller.acting():
        return caller.ledger.psychotherapy.list_notes(body.client, by=caller.by,
                                                      at=caller.at)
