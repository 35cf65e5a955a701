"""The field types of request bodies and parameters, with the patterns of
``ledger/identifiers.py`` so that the OpenAPI document states them. The services check
every value again; these only stop at the edge what could never be right.

Text must be text: no NUL and no lone surrogate (a JSON ``\\ud800`` escape), as the CLI
refuses an argument with a NUL or an invalid byte. Dates and moments are strings parsed by
the same functions as the CLI's (``ledger.dates``), so they mean the same thing: a day in
1900-2999; a moment is a day (its end, UTC; today: now) or a time with its UTC offset.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Literal

from fastapi import Header
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema

from ledger.aggregates.note import MAX_NOTE_BYTES
from ledger.errors import BadInput
from ledger.identifiers import CLIENT_REF, CODE, MAX_ID, STAFF_ID
from ledger.vocabulary import (
    ACCESS_LOG_FIELDS,
    FACILITIES,
    LICENSES,
    RECIPIENT_TYPES,
    ROLES,
    SCOPES,
)

MAX_TEXT = 1000  # reasons, recipients, names, assertions: one line of a record


def _text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (no lone surrogate)") from None
    return value


def one_of(values: Iterable[str]) -> tuple[AfterValidator, WithJsonSchema]:
    """Metadata for a string that must be one of ``values`` (the vocabulary's tuple, so
    the list is written once): the check, and the schema's ``enum``."""
    allowed = tuple(values)

    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return value

    return AfterValidator(check), WithJsonSchema({"type": "string", "enum": list(allowed)})


def _anchored(pattern: str) -> str:
    return f"^{pattern}$"


STAFF_PATTERN = _anchored(STAFF_ID.pattern)
StaffId = Annotated[str, Field(pattern=STAFF_PATTERN, max_length=MAX_ID,
                               description="A staff id", examples=["dr-lee"])]
ClientRef = Annotated[str, Field(pattern=_anchored(CLIENT_REF.pattern), max_length=MAX_ID,
                                 description="The practice's client id (only ever in a "
                                             "body, never in a URL)",
                                 examples=["C-1001"])]
Code = Annotated[str, Field(pattern=_anchored(CODE.pattern), max_length=MAX_ID)]
Text = Annotated[str, AfterValidator(_text), Field(min_length=1, max_length=MAX_TEXT)]
NoteText = Annotated[str, AfterValidator(_text),
                     Field(min_length=1, max_length=MAX_NOTE_BYTES,
                           description="The note's text (at most 1,000,000 bytes of UTF-8)")]
Day = Annotated[str, Field(max_length=10, description="A date, YYYY-MM-DD",
                           json_schema_extra={"format": "date"}, examples=["2026-03-31"])]
Moment = Annotated[str, Field(
    max_length=40, examples=["2026-03-31", "2026-03-31T17:00:00+00:00"],
    description="A date (the end of that UTC day; today: now) or a time with its UTC "
                "offset")]
RequestId = Annotated[str, Field(
    max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$",
    description="Your id for this request: a retry with the same id returns the first "
                "result and records nothing more")]
Role = Annotated[str, *one_of(ROLES)]
RecipientType = Annotated[str, *one_of(RECIPIENT_TYPES)]
Scope = Annotated[str, *one_of(SCOPES)]
License = Annotated[str, *one_of(LICENSES)]
Facility = Annotated[str, *one_of(FACILITIES)]
SortField = Annotated[str, *one_of(ACCESS_LOG_FIELDS)]
StoreName = Literal["main", "pn"]
StoreChoice = Literal["main", "pn", "all"]


class Body(BaseModel):
    """A request body: unknown fields are refused (a misspelt option is not ignored)."""

    model_config = ConfigDict(extra="forbid")


def stores(which: StoreChoice) -> tuple[str, ...]:
    return tuple(name for name in ("main", "pn") if which in (name, "all"))


IdempotencyKey = Annotated[RequestId | None, Header(
    alias="Idempotency-Key",
    description="Your id for this request (or the body's request_id): a retry with the "
                "same key returns the first result and records nothing more")]


def request_id(in_body: str | None, header: str | None) -> str | None:
    """The request id, from the ``Idempotency-Key`` header or the body (the same, if
    both)."""
    if in_body is not None and header is not None and in_body != header:
        raise BadInput("the Idempotency-Key header and the body's request_id differ")
    return header or in_body


class ClientQuery(Body):
    """What concerns one client: the client is named in the body, never in the URL."""

    client: ClientRef
