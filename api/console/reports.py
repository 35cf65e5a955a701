"""The client's timeline and the investigator's report, as console pages.

The timeline is a form post (the client reference goes in the body, never the URL),
answered by :meth:`AuditLog.timeline`, which records the reading in both stores. The
investigator's report (:meth:`Investigation.psychotherapy_releases`, recorded likewise)
shows each store's verification first, then the psychotherapy-note events drawn as a
chart, then the conclusion in words, then a form that downloads the evidence bundle
(exported and recorded by the evidence service, as over the API).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Depends, Form, Request
from markupsafe import Markup
from starlette.responses import Response

from api.console.charts import Mark, timeline_svg
from api.console.web import ConsoleRoute, Viewer, posted, render, signed_in
from api.routes.evidence import bundle_download
from ledger.dates import parse_day
from ledger.errors import BadInput
from ledger.rules import roles

if TYPE_CHECKING:
    from ledger.integrity.findings import Item, Report

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
Day = Annotated[str, Form(max_length=20)]


@dataclass(frozen=True)
class Period:
    since: date | None
    until: date | None

    @classmethod
    def of(cls, since: str, until: str) -> Period:
        first = parse_day(since.strip() or None, "the first day")
        last = parse_day(until.strip() or None, "the last day")
        if first and last and first > last:
            raise BadInput("the first day is after the last day")
        return cls(first, last)

    @property
    def form(self) -> dict[str, str]:
        return {"since": self.since.isoformat() if self.since else "",
                "until": self.until.isoformat() if self.until else ""}


# ----- a client's timeline ------------------------------------------------------------------

@router.get("/clients/timeline")
def timeline_form(request: Request, viewer: Annotated[Viewer, Depends(signed_in)]
                  ) -> Response:
    with viewer.acting():
        viewer.ledger.console_sessions.viewed(viewer.session, "timeline form", at=viewer.at,
                                              rule=roles.READ_AUDIT)
    return render(request, "timeline.html", timeline=None, chart=None, client="",
                  period=Period(None, None).form)


@router.post("/clients/timeline")
def timeline(request: Request, viewer: Annotated[Viewer, Depends(posted)],
             client: Annotated[str, Form(max_length=200)] = "",
             since: Annotated[str, Form(alias="from", max_length=20)] = "",
             until: Annotated[str, Form(alias="to", max_length=20)] = "") -> Response:
    if not client.strip():
        raise BadInput("enter the client's reference")
    period = Period.of(since, until)
    with viewer.acting():
        found = viewer.ledger.audit.timeline(client.strip(), by=viewer.by, at=viewer.at,
                                             since=period.since, until=period.until)
    chart = timeline_svg(found.items, since=period.since, until=period.until,
                         title="The client's events over time")
    return render(request, "timeline.html", timeline=found, chart=chart,
                  client=client.strip(), period=period.form)


# ----- the investigator's report --------------------------------------------------------------

@router.get("/investigation")
def investigation(request: Request, viewer: Annotated[Viewer, Depends(signed_in)]
                  ) -> Response:
    return _report(request, viewer, Period(None, None))


@router.post("/investigation")
def investigation_in_period(request: Request, viewer: Annotated[Viewer, Depends(posted)],
                            since: Annotated[str, Form(alias="from", max_length=20)] = "",
                            until: Annotated[str, Form(alias="to", max_length=20)] = ""
                            ) -> Response:
    return _report(request, viewer, Period.of(since, until))


@router.post("/investigation/evidence")
def evidence_bundle(viewer: Annotated[Viewer, Depends(posted)],
                    since: Annotated[str, Form(alias="from", max_length=20)] = "",
                    until: Annotated[str, Form(alias="to", max_length=20)] = "") -> Response:
    """The evidence bundle of the report's period: every access event of the period (or
    everything), with its proofs; exported and recorded by the evidence service."""
    period = Period.of(since, until)
    with viewer.acting():
        return bundle_download(viewer.ledger, by=viewer.by, at=viewer.at,
                               stores=("main", "pn"), client_ref=None, since=period.since,
                               until=period.until)


def _report(request: Request, viewer: Viewer, period: Period) -> Response:
    with viewer.acting():
        report = viewer.ledger.investigation.psychotherapy_releases(
            by=viewer.by, at=viewer.at, since=period.since, until=period.until)
    chart: Markup | None = None
    if report.concluded:
        chart = timeline_svg(
            [Mark(i.record.at, i.kind, i.record.actor_id) for i in report.items],
            since=period.since, until=period.until,
            title="Psychotherapy-note events: releases, refusals and break-the-glass")
    return render(request, "investigation.html", report=report, chart=chart,
                  releases=[release_in_words(i) for i in report.releases],
                  failures=_failures(report), period=period.form)


def release_in_words(item: Item) -> str:
    """One release, named: when, who, what, to whom, on what basis."""
    r = item.record
    what = {"disclose": "released", "export": "exported", "access": "read"}.get(r.action,
                                                                               r.action)
    to = (f" to {r.recipient}" if r.recipient else "") + (
        f" ({r.recipient_type})" if r.recipient_type else "")
    return (f"On {r.at.date().isoformat()} {r.actor_id} ({r.actor_role}) {what} "
            f"psychotherapy note {r.object_id or '(not recorded)'}{to}, for purpose "
            f"{r.purpose or 'not recorded'}, on the basis: {item.basis or 'none recorded'}.")


def _failures(report: Report) -> list[str]:
    return [f"{e.store}: {e.detail}" for e in report.evidence if not e.ok]
