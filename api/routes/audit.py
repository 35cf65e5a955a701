"""``/v1/access-log/search`` and ``/v1/accounting``: who accessed what, and the accounting
of disclosures (``ledger access-log``, ``ledger accounting``). Reads by client are POSTs:
the client is named in the body, never in the URL. Every reading is recorded."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import Field

from api.caller import CallerDep
from api.fields import Body, ClientRef, Day, SortField, StaffId, StoreChoice, stores
from api.problems import responses
from ledger.dates import parse_day
from ledger.queries import Query
from ledger.rules.accounting import Accounting
from ledger.views import AccessRecord

router = APIRouter(prefix="/v1", tags=["audit"])


class AccessLogSearch(Body):
    client: ClientRef | None = None
    staff: StaffId | None = None
    from_: Annotated[Day | None, Field(alias="from", description="From this date")] = None
    to: Day | None = None
    outcome: Literal["granted", "denied", "not-found"] | None = None
    break_glass: bool = False
    store: StoreChoice = "all"
    sort: SortField = "at"
    from_log: bool = False


class AccountingQuery(Body):
    client: ClientRef
    at: Day | None = None
    from_log: bool = False


@router.post("/access-log/search", response_model=list[AccessRecord],
             responses=responses(403, 404))
def access_log(body: AccessLogSearch, caller: CallerDep) -> list[AccessRecord]:
    """Access and disclosure events of both stores, filtered and sorted; compliance,
    supervisors and admins may read them, and each reading is recorded."""
    lg = caller.ledger
    with caller.acting():
        query = Query(client_id=lg.client_id(body.client) if body.client else None,
                      staff_id=body.staff, since=parse_day(body.from_, "from"),
                      until=parse_day(body.to, "to"), outcome=body.outcome,
                      break_glass=body.break_glass, sort=body.sort)
        return lg.audit.access_log(by=caller.by, at=caller.at, query=query,
                                   from_log=body.from_log, stores=stores(body.store))


@router.post("/accounting", response_model=Accounting, responses=responses(403, 404))
def accounting(body: AccountingQuery, caller: CallerDep) -> Accounting:
    """The accountable disclosures of both stores in the six years before the request
    (164.528). Recorded."""
    with caller.acting():
        return caller.ledger.audit.accounting(body.client, by=caller.by, at=caller.at,
                                              requested_on=parse_day(body.at, "at"),
                                              from_log=body.from_log)
