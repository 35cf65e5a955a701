"""The integrity page: each store's latest signed checkpoint and its age, the scheduler's
last verification and whether the scheduler runs, and "Verify now".

Opening the page is a recorded use decided under ``integrity.evidence`` (it reads nothing
recorded elsewhere). The checkpoint shown is the exported note whose signature verifies
with the checkpoint public key, never the checkpoint table's columns, which are a cache
(:mod:`ledger.services.integrity_status`). "Verify now" is a form post running the
evidence service's verification, itself a recorded use.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from api.console.web import ConsoleRoute, Viewer, posted, render, signed_in
from jobs.status import read_status
from ledger.integrity.records import Report
from ledger.rules import roles
from ledger.services.integrity_status import checkpoint_status

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

VERIFY_JOB = "verification"  # the scheduler's job (jobs/runs.py)
STORE_NAMES = {"main": "Main record", "psychotherapy": "Psychotherapy notes",
               "journal": "Destruction journal"}


@router.get("/integrity")
def integrity(request: Request, viewer: Annotated[Viewer, Depends(signed_in)]) -> Response:
    with viewer.acting():
        viewer.ledger.console_sessions.viewed(viewer.session, "integrity", at=viewer.at,
                                              rule=roles.HANDLE_EVIDENCE,
                                              what="open the integrity page")
    return render(request, "integrity.html", **_context(viewer, None))


@router.post("/integrity/verify")
def verify_now(request: Request, viewer: Annotated[Viewer, Depends(posted)]) -> Response:
    with viewer.acting():
        reports = viewer.ledger.evidence.verify(by=viewer.by, at=viewer.at)
    return render(request, "integrity.html", **_context(viewer, reports))


def _context(viewer: Viewer, reports: list[Report] | None) -> dict[str, Any]:
    lg = viewer.ledger
    status = read_status(lg.settings, at=viewer.at)
    return {
        "checkpoints": checkpoint_status(lg.integrity, [lg.main, lg.pn], at=viewer.at),
        "scheduler": status,
        "verification": next((j for j in status.jobs if j.job == VERIFY_JOB), None),
        "reports": reports,
        "names": STORE_NAMES,
        "age": age,
    }


def age(span: timedelta | None) -> str:
    """A span in words, to the minute: "2 days 3 hours", "5 minutes", "under a minute"."""
    if span is None:
        return "unknown"
    if span < timedelta(0):
        return "in the future (the clock or the note is wrong)"
    minutes = int(span.total_seconds()) // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{n} {unit}{'' if n == 1 else 's'}" for n, unit in
             ((days, "day"), (hours, "hour"), (minutes, "minute")) if n]
    return " ".join(parts[:2]) if parts else "under a minute"
