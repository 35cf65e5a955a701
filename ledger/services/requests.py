"""Retried writes: a caller's request id names what the write creates, so a retry finds it.

A caller that may retry a write (``note write``, ``pn write``, ``disclose``) passes a request
id. The id of what the write creates (the note, the disclosure) is derived from the kind,
the acting staff member and the request id, so the event store's own uniqueness makes the
first commit the only one: a retry, or a second process racing the first, finds the first
result and returns it, recording nothing more. The result is read back from the log, never
from a side table. Reusing a request id for a different request is refused.
"""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING
from uuid import NAMESPACE_URL, UUID, uuid5

from ledger.errors import BadInput, ContentDestroyed, NotFound

if TYPE_CHECKING:  # front ends check request ids without loading the database stack
    from ledger.stores.clinical import ClinicalStore

REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_NAMESPACE = uuid5(NAMESPACE_URL, "urn:ledger:request:v1")


def check_request_id(request_id: str | None) -> str | None:
    if request_id is not None and not REQUEST_ID.fullmatch(request_id):
        raise BadInput("a request id is 1 to 128 letters, digits, '.', '_', ':' or '-', "
                       "starting with a letter or digit (a UUID will do)")
    return request_id


def created_id(kind: str, by: str, request_id: str | None) -> UUID | None:
    """The id of what request ``request_id`` by ``by`` creates (None: no request id)."""
    if check_request_id(request_id) is None:
        return None
    return uuid5(_NAMESPACE, f"{kind}:{len(by)}:{by}:{request_id}")


def reused(request_id: str | None, what: str) -> BadInput:
    return BadInput(f"request id {request_id} was already used for another request ({what}); "
                    "give a new request id")


def already_written(store: ClinicalStore, note_id: UUID | None, client_id: UUID, text: str,
                    by: str, session_date: date | None, request_id: str | None) -> bool:
    """Whether request ``request_id`` already wrote note ``note_id`` (a retry: True), or
    wrote nothing yet (False); a different note under the same request id is refused."""
    if note_id is None:
        return False
    try:
        note = store.note(note_id)
    except NotFound:
        return False
    except ContentDestroyed:
        raise reused(request_id, f"note {note_id}, since destroyed") from None
    first = note.versions[0]
    if (note.client_id, note.author_id, note.session_date, first.text) != (
            client_id, by, session_date.isoformat() if session_date else None, text):
        raise reused(request_id, f"note {note_id}")
    return True
