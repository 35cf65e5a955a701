"""``/v1/record-set`` and ``/v1/access-requests``: the designated record set, as of now or
any past moment, and a client's right-of-access request (``ledger record-set``,
``ledger export access-request``). Never a psychotherapy note."""

from __future__ import annotations

from fastapi import APIRouter

from api.caller import CallerDep
from api.fields import Body, ClientRef, Code, Day, Moment
from api.problems import responses
from ledger.dates import parse_day, parse_moment
from ledger.views import AccessRequestExport, RecordSet

router = APIRouter(prefix="/v1", tags=["records"])


class RecordSetQuery(Body):
    client: ClientRef
    as_of: Moment | None = None
    purpose: Code = "HOPERAT"


class AccessRequest(Body):
    client: ClientRef
    received: Day | None = None


@router.post("/record-set", response_model=RecordSet, responses=responses(403, 404))
def record_set(body: RecordSetQuery, caller: CallerDep) -> RecordSet:
    """Each progress note's version current at `as_of` with its amendment history up to
    then. Recorded, with its purpose."""
    with caller.acting():
        return caller.ledger.records.record_set(
            body.client, by=caller.by, purpose=body.purpose.upper(), at=caller.at,
            as_of=parse_moment(body.as_of, "as_of", now=caller.at))


@router.post("/access-requests", response_model=AccessRequestExport,
             responses=responses(403, 404))
def access_request(body: AccessRequest, caller: CallerDep) -> AccessRequestExport:
    """What the client receives under the right of access (164.524), and the deadline:
    30 days after the request was received, one extension of at most 30 more. Recorded
    as an export (purpose PATRQT)."""
    with caller.acting():
        return caller.ledger.records.export_access_request(
            body.client, by=caller.by, at=caller.at,
            received=parse_day(body.received, "received") or caller.at.date())
