"""``/v1/clients``: registering clients and recording the facts the retention rules need
(``ledger client add``, ``client episode open|close``, ``client contact``). The client is
always named in the body."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.caller import CallerDep
from api.fields import Body, ClientRef, Day, Facility, License, Text
from api.problems import responses
from ledger.dates import require_day

router = APIRouter(prefix="/v1/clients", tags=["clients"])


class ClientAdd(Body):
    client: ClientRef
    name: Text
    dob: Day
    state: Annotated[str, Field(min_length=1, max_length=2, examples=["CA"],
                                description="Two-letter US state")]


class EpisodeOpen(Body):
    client: ClientRef
    license: License
    facility: Facility | None = None
    start: Day
    state: Annotated[str | None, Field(
        default=None, min_length=1, max_length=2, examples=["WA"],
        description="Two-letter US state the services are provided in, under its license "
                    "(default: the state the client was registered in)")]


class EpisodeClose(Body):
    client: ClientRef
    end: Day
    kind: Literal["discharge", "termination"]


class Contact(Body):
    client: ClientRef
    on: Day


class ClientDone(BaseModel):
    client: str


@router.post("", status_code=201, response_model=ClientDone,
             responses=responses(403))
def add_client(body: ClientAdd, caller: CallerDep) -> ClientDone:
    """Register a client; the name, date of birth and id are sealed under the client's
    own key."""
    with caller.acting():
        caller.ledger.clients.register(body.client, body.name, require_day(body.dob, "dob"),
                                       body.state, by=caller.by, at=caller.at)
    return ClientDone(client=body.client)


@router.post("/episodes/open", response_model=ClientDone, responses=responses(403, 404))
def open_episode(body: EpisodeOpen, caller: CallerDep) -> ClientDone:
    """Record that an episode of care began."""
    with caller.acting():
        caller.ledger.clients.open_episode(body.client, license=body.license,
                                           facility=body.facility,
                                           start=require_day(body.start, "start"),
                                           by=caller.by, at=caller.at, state=body.state)
    return ClientDone(client=body.client)


@router.post("/episodes/close", response_model=ClientDone,
             responses=responses(403, 404))
def close_episode(body: EpisodeClose, caller: CallerDep) -> ClientDone:
    """Record that the open episode of care ended."""
    with caller.acting():
        caller.ledger.clients.close_episode(body.client, end=require_day(body.end, "end"),
                                            kind=body.kind, by=caller.by, at=caller.at)
    return ClientDone(client=body.client)


@router.post("/contacts", response_model=ClientDone, responses=responses(403, 404))
def record_contact(body: Contact, caller: CallerDep) -> ClientDone:
    """Record a professional contact with the client (some rules run from the last one)."""
    with caller.acting():
        caller.ledger.clients.record_contact(body.client, on=require_day(body.on, "on"),
                                             by=caller.by, at=caller.at)
    return ClientDone(client=body.client)
