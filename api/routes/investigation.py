"""``/v1/investigations/psychotherapy-releases``: the investigator's report
(``ledger investigate psychotherapy-releases --json``). It rests on the verified logs; if
a store fails verification, or a read model disagrees with the log, the answer is 409 with
the report (which then concludes nothing, or concludes from the log and names the read
model)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.caller import CallerDep
from api.fields import Body, Day
from api.problems import from_ledger_error, responses
from ledger.dates import parse_day
from ledger.errors import IntegrityFailure

if TYPE_CHECKING:
    from ledger.integrity.findings import Report

router = APIRouter(prefix="/v1/investigations", tags=["audit"])


class Period(Body):
    from_: Annotated[Day | None, Field(alias="from")] = None
    to: Day | None = None


class PeriodOut(BaseModel):
    from_: date | None = Field(serialization_alias="from")
    to: date | None


class StoreEvidence(BaseModel):
    store: str
    ok: bool
    detail: str
    size: int
    verified_to: int
    checkpoint: str | None
    read_models_disagreeing: list[str]


class Event(BaseModel):
    kind: str
    basis: str | None
    proof: list[str]
    leaf: str | None
    store: str
    position: int | None
    notification_id: int
    at: datetime
    actor: str
    role: str
    action: str
    outcome: str
    purpose: str | None
    object: str | None
    client_id: UUID | None
    recipient: str | None
    recipient_type: str | None
    break_glass: bool


class ReportOut(BaseModel):
    verified: bool
    conclusion: str | None
    read_models_disagreeing: list[str]
    period: PeriodOut
    evidence: list[StoreEvidence]
    events: list[Event]


def report_out(report: Report) -> ReportOut:
    return ReportOut(
        verified=report.verified, conclusion=report.conclusion,
        read_models_disagreeing=[m for e in report.evidence for m in e.read_models],
        period=PeriodOut(from_=report.since, to=report.until),
        evidence=[StoreEvidence(store=e.store, ok=e.ok, detail=e.detail, size=e.size,
                                verified_to=e.events, checkpoint=e.checkpoint,
                                read_models_disagreeing=list(e.read_models))
                  for e in report.evidence],
        events=[Event(kind=i.kind, basis=i.basis, proof=list(i.proof or []), leaf=i.leaf,
                      store=i.record.store, position=i.position,
                      notification_id=i.record.position, at=i.record.at,
                      actor=i.record.actor_id, role=i.record.actor_role,
                      action=i.record.action, outcome=i.record.outcome,
                      purpose=i.record.purpose, object=i.record.object_id,
                      client_id=i.record.client_id, recipient=i.record.recipient,
                      recipient_type=i.record.recipient_type,
                      break_glass=i.record.break_glass) for i in report.items])


@router.post("/psychotherapy-releases", response_model=ReportOut,
             responses=responses(403))
def psychotherapy_releases(body: Period, caller: CallerDep) -> Any:
    """Verify both stores from their logs, then list every use, disclosure, refusal and
    break-the-glass event concerning psychotherapy notes, and conclude. Recorded."""
    with caller.acting():
        report = caller.ledger.investigation.psychotherapy_releases(
            by=caller.by, at=caller.at, since=parse_day(body.from_, "from"),
            until=parse_day(body.to, "to"))
    out = report_out(report)
    if not report.verified:
        problems = "; ".join(f"{e.store}: {e.detail}" for e in report.evidence if not e.ok)
        return from_ledger_error(IntegrityFailure(problems),
                                 report=out.model_dump(mode="json", by_alias=True))
    return out
