"""``/v1/disclosures``: every release of anything, through the one disclosure guard
(``ledger disclose``).

A granted release returns the released notes in the response body. For psychotherapy
notes that body is the recipient's file: the CLI writes it to ``--out`` and never to the
screen, and the API hands it to the caller, whose concern it is to deliver it and not to
display it. A refusal is 403 and is recorded."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID, uuid4

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.caller import CallerDep
from api.fields import (
    Body,
    ClientRef,
    Code,
    IdempotencyKey,
    RecipientType,
    RequestId,
    Text,
    request_id,
)
from api.problems import responses
from ledger.errors import BadInput
from ledger.services.requests import check_request_id
from ledger.views import NoteContent

router = APIRouter(prefix="/v1/disclosures", tags=["disclosures"])
MAX_NOTES = 1000


class Disclose(Body):
    client: ClientRef
    to: Text
    recipient_type: RecipientType
    recipient_address: Text | None = None
    purpose: Code
    notes: Annotated[list[UUID], Field(default_factory=list, max_length=MAX_NOTES,
                                       description="Progress notes to release")]
    psychotherapy_notes: Annotated[list[UUID], Field(
        default_factory=list, max_length=MAX_NOTES,
        description="Psychotherapy notes to release")]
    authorization: UUID | None = None
    exception: Code | None = None
    assertion: Text | None = None
    description: Text | None = None
    request_id: RequestId | None = None


class Released(BaseModel):
    """A granted disclosure and what it released (for psychotherapy notes: the
    recipient's file)."""

    disclosure_id: UUID
    client_id: UUID
    recipient: str
    recipient_type: str
    purpose: str
    basis: str | None
    legal_basis: str | None
    accountable: bool
    description: str
    assertion: str | None
    request_id: str
    notes: list[NoteContent]


@router.post("", status_code=201, response_model=Released,
             responses=responses(403, 404, 410))
def disclose(body: Disclose, caller: CallerDep, key: IdempotencyKey = None) -> Released:
    """Release progress notes (`notes`) or psychotherapy notes (`psychotherapy_notes`) to
    a recipient. A retry with the same request id returns the first result and records
    nothing more; without one, an id is made and returned."""
    if bool(body.notes) == bool(body.psychotherapy_notes):
        raise BadInput("name progress notes (notes) or psychotherapy notes "
                       "(psychotherapy_notes), not both and not neither")
    if body.authorization is not None and body.exception is not None:
        raise BadInput("give an authorization or an exception, not both")
    chosen = check_request_id(request_id(body.request_id, key)) or str(uuid4())
    ledger = caller.ledger
    service = ledger.psychotherapy if body.psychotherapy_notes else ledger.notes
    with caller.acting():
        release = service.disclose(
            body.client, list(body.psychotherapy_notes or body.notes), by=caller.by,
            recipient=body.to, recipient_type=body.recipient_type,
            purpose=body.purpose.upper(), at=caller.at, authorization_id=body.authorization,
            exception=body.exception, description=body.description,
            recipient_address=body.recipient_address, assertion=body.assertion,
            request_id=chosen)
    return Released(
        disclosure_id=release.disclosure_id, client_id=release.client_id,
        recipient=release.recipient, recipient_type=release.recipient_type,
        purpose=release.purpose, basis=release.basis, legal_basis=release.legal_basis,
        accountable=release.accountable, description=release.description,
        assertion=release.assertion, request_id=chosen, notes=list(release.notes))
