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
from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from markupsafe import Markup
from starlette.responses import Response

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
                  chart=_bars_svg(due_by_year(plan), title="Destructions due by year"),
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


# ----- the chart --------------------------------------------------------------------------------

WIDTH, HEIGHT, TOP, BOTTOM, SIDE = 640, 260, 30, 40, 20


def _bars_svg(counts: Mapping[int, int], *, title: str) -> Markup:
    """A bar per year, drawn as SVG with presentation attributes only (the page's policy
    allows no inline style); an image with a title and a description for screen readers.
    Every value goes in through Markup's escaping format.
    (The lead swaps this for ``api/console/charts.py``'s ``bars_svg`` on merge.)"""
    years = sorted(counts)
    desc = ("; ".join(f"{y}: {counts[y]}" for y in years) if years
            else "no destruction dates")
    base = HEIGHT - BOTTOM
    parts = [Markup('<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
                    'viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
                    'aria-labelledby="chart-title chart-desc">'
                    '<title id="chart-title">{title}</title><desc id="chart-desc">{desc}</desc>'
                    '<line x1="{side}" y1="{base}" x2="{right}" y2="{base}" stroke="#4a5562" '
                    'stroke-width="1"/>').format(w=WIDTH, h=HEIGHT, title=title, desc=desc,
                                                 side=SIDE, base=base, right=WIDTH - SIDE)]
    if not years:
        parts.append(Markup('<text x="{x}" y="{y}" text-anchor="middle" fill="#1b1f24" '
                            'font-size="14">Nothing has a destruction date</text>'
                            ).format(x=WIDTH // 2, y=HEIGHT // 2))
    top = max(counts.values(), default=1) or 1
    slot = (WIDTH - 2 * SIDE) / max(len(years), 1)
    for i, year in enumerate(years):
        n = counts[year]
        h = (HEIGHT - TOP - BOTTOM) * n / top
        x = SIDE + i * slot + slot * 0.15
        parts.append(Markup(
            '<g class="bar"><rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" '
            'fill="#0b5cad"><title>{year}: {n}</title></rect>'
            '<text x="{mid:.1f}" y="{above:.1f}" text-anchor="middle" fill="#1b1f24" '
            'font-size="12">{n}</text>'
            '<text x="{mid:.1f}" y="{below}" text-anchor="middle" fill="#1b1f24" '
            'font-size="12">{year}</text></g>').format(
                x=x, y=base - h, w=slot * 0.7, h=h, year=year, n=n, mid=x + slot * 0.35,
                above=base - h - 4, below=base + 16))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)
