"""The retention page: the plan's counts by status, destructions due by year as a chart
drawn on the server, legal holds with their matters, and the last purge runs with the
newest destruction receipts.

Three recorded readings under ``retention.manage`` (the plan, the holds, the receipts),
each decided by the roles table in its service; the scheduler's record of the purge job
is read after them. The as-of day may be chosen (``?at=YYYY-MM-DD``: a day is not PHI).

The four statuses asked for map the plan's own (:attr:`Schedule.status`) as follows:
due = ``due``, and ``destroying`` (a purge interrupted after its receipt: the next run
finishes it); held = ``held``; blocked = ``blocked`` (a destruction precondition is open)
and ``no date`` (a fact the rules need is missing, so no date can be computed); retained
= ``retained`` (its date is still to come). Clients already destroyed are counted apart.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from api.console.charts import bars_svg
from api.console.web import ConsoleRoute, Viewer, render, signed_in
from jobs.status import read_status
from ledger.dates import parse_day, parse_moment
from ledger.services.retention import Schedule

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

SWEEP = "retention-sweep"  # the scheduler's purge job (jobs/runs.py)
STATUSES = ("due", "held", "blocked", "retained")
GROUP = {"due": "due", "destroying": "due", "held": "held", "blocked": "blocked",
         "no date": "blocked", "retained": "retained", "destroyed": "destroyed"}
RECEIPTS = 20  # the newest receipts shown


@router.get("/retention")
def retention(request: Request, viewer: Annotated[Viewer, Depends(signed_in)],
              at: Annotated[str | None, Query(max_length=10)] = None) -> Response:
    day = parse_day(at or None, "the as-of day")
    as_of = parse_moment(day.isoformat(), "the as-of day", now=viewer.at) if day else None
    lg = viewer.ledger
    with viewer.acting():
        plan = lg.retention.plan(by=viewer.by, at=viewer.at, as_of=as_of)
        holds = lg.retention.list_holds(by=viewer.by, at=viewer.at)
        receipts = lg.retention.receipts(by=viewer.by, at=viewer.at, limit=RECEIPTS)
    sweep = next((j for j in read_status(lg.settings, at=viewer.at).jobs if j.job == SWEEP),
                 None)
    moment = as_of or viewer.at
    return render(request, "retention.html", day=moment.date().isoformat(),
                  counts=counts(plan), detail=Counter(s.status for s in plan),
                  chart=bars_svg(due_by_year(plan), title="Destructions due by year"),
                  holds=holds, moment=moment, receipts=receipts, sweep=sweep)


def counts(plan: list[Schedule]) -> dict[str, int]:
    """The clients per status group (due, held, blocked, retained, destroyed)."""
    found = Counter(GROUP[s.status] for s in plan)
    return {name: found.get(name, 0) for name in (*STATUSES, "destroyed")}


def due_by_year(plan: list[Schedule]) -> dict[int, int]:
    """Clients not yet destroyed whose destruction date falls in each year (held and
    blocked ones included: their date is computed, what stops them is said apart)."""
    years = Counter(s.explanation.destroy_on.year for s in plan
                    if s.destroyed is None and s.explanation is not None
                    and s.explanation.destroy_on is not None)
    return dict(sorted(years.items()))
