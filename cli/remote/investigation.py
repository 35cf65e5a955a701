"""The investigator's report over the API (``/v1/investigations/psychotherapy-releases``):
what ``ledger investigate psychotherapy-releases`` calls. A report that rests on a store
failing verification, or names a read model that disagrees with the log, comes back as 409
with the report in it: it is rebuilt and returned as local mode returns it, and the
command prints it and exits 3."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from cli.remote.connection import Connection, json_of
from cli.remote.decode import build
from cli.remote.problems import error_for, kind_of, problem_of
from ledger.integrity.findings import Evidence, Item, Report
from ledger.views import AccessRecord


class Investigation:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def psychotherapy_releases(self, *, by: str | None, at: datetime,
                               since: date | None = None, until: date | None = None) -> Report:
        response = self.connection.request(
            "POST", "/v1/investigations/psychotherapy-releases",
            body={"from": since, "to": until})
        body: Any
        if response.is_success:
            body = json_of(response)
        else:
            problem = problem_of(response)
            if kind_of(problem) != "integrity-failure" or problem is None \
                    or "report" not in problem:
                raise error_for(response)
            body = problem["report"]
        return report(build(_ReportOut, body), since, until)


def report(r: _ReportOut, since: date | None, until: date | None) -> Report:
    return Report(
        since=since, until=until,
        evidence=[Evidence(store=e.store, ok=e.ok, detail=e.detail, checkpoint=e.checkpoint,
                           size=e.size, events=e.verified_to,
                           read_models=e.read_models_disagreeing) for e in r.evidence],
        items=[Item(record=AccessRecord(
            store=e.store, position=e.notification_id, at=e.at, actor_id=e.actor,
            actor_role=e.role, action=e.action, outcome=e.outcome,
            object_type="",  # not in the answer, and not in the report either
            object_id=e.object, client_id=e.client_id, purpose=e.purpose, reason=None,
            break_glass=e.break_glass, recipient=e.recipient,
            recipient_type=e.recipient_type),
            kind=e.kind, basis=e.basis,
            proof=e.proof if e.leaf is not None else None,  # none: after the checkpoint
            leaf=e.leaf, position=e.position) for e in r.events],
        conclusion=r.conclusion)


@dataclass(frozen=True)
class _EvidenceOut:
    store: str
    ok: bool
    detail: str
    size: int
    verified_to: int
    checkpoint: str | None
    read_models_disagreeing: tuple[str, ...]


@dataclass(frozen=True)
class _EventOut:
    kind: str
    basis: str | None
    proof: tuple[str, ...]
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


@dataclass(frozen=True)
class _ReportOut:
    conclusion: str | None
    evidence: tuple[_EvidenceOut, ...]
    events: tuple[_EventOut, ...]
