"""Charts drawn on the server as SVG: a timeline of events and bars of counts by year.

Pure functions returning ``Markup`` of one ``<svg role="img">`` with a ``<title>`` and a
``<desc>`` that say in words what the chart shows. Every text is escaped (and characters
XML cannot hold are dropped), so an actor id or a title cannot inject markup. Kinds of
event differ by shape as well as colour, each colour at least 4.5:1 on white (WCAG AA),
and each marker carries its own ``<title>``: the date, the kind and the actor.

A timeline draws one marker per event, each kind in its own lane above the time axis. Past
``MAX_MARKERS`` events it counts them per day and kind instead (one marker per day and
kind, its title giving the count), and past that per equal slice of the period.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

from markupsafe import Markup, escape

MAX_MARKERS = 1000
SLICES = 180  # the last resort: equal slices of the period, per kind
WIDTH = 800
LEFT, RIGHT = 150, 740  # the plot's horizontal extent (lane labels left, room for a date right)
AXIS_Y = 140
FONT = 'font-family="system-ui, sans-serif" font-size="12"'
INK = "#1b1f24"
MUTED = "#4a5562"
# Characters XML 1.0 cannot hold, even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class Event(Protocol):
    """What a timeline draws of an event (a ledger timeline item, or a report's event)."""

    @property
    def at(self) -> datetime: ...

    @property
    def kind(self) -> str: ...

    @property
    def actor(self) -> str: ...


@dataclass(frozen=True)
class Mark:
    """An event to draw, for callers whose records name these fields otherwise."""

    at: datetime
    kind: str
    actor: str


@dataclass(frozen=True)
class Category:
    key: str
    label: str  # plural, for the legend and the summary
    colour: str
    shape: str  # triangle, cross, diamond, circle, square
    y: int


CATEGORIES = (
    Category("release", "releases", "#a4161a", "triangle", 30),
    Category("refusal", "refusals", "#7a4b00", "cross", 52),
    Category("break-the-glass", "break-the-glass", "#6a1b9a", "diamond", 74),
    Category("use", "other uses", "#0b5cad", "circle", 96),
    Category("retention", "retention events", "#1a6b2f", "square", 118),
)
_BY_KIND = {"release": "release", "disclosure": "release", "refusal": "refusal",
            "refused": "refusal", "break-the-glass": "break-the-glass",
            "break-glass": "break-the-glass", "hold": "retention",
            "hold-release": "retention", "destruction": "retention",
            "precondition": "retention"}


def category_of(kind: str) -> Category:
    key = _BY_KIND.get(kind, "use")
    return next(c for c in CATEGORIES if c.key == key)


def text(value: object) -> Markup:
    """``value`` as escaped XML text, without the characters XML cannot hold."""
    return escape(_NOT_XML.sub("", str(value)))


def _ident(prefix: str, title: str) -> str:
    return f"{prefix}-{hashlib.sha256(title.encode('utf-8', 'replace')).hexdigest()[:10]}"


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


@dataclass(frozen=True)
class _Marker:
    at: datetime
    category: Category
    tip: str  # the marker's title


def _bounds(days: Sequence[date], since: date | None, until: date | None
            ) -> tuple[date, date] | None:
    first = since or (min(days) if days else until)
    last = until or (max(days) if days else since)
    if first is None or last is None:
        return None
    return (first, last) if first <= last else (last, first)


def _markers(events: list[tuple[datetime, Category, str, str]], first: date, last: date
             ) -> list[_Marker]:
    """One marker per event; past MAX_MARKERS one per day and kind; past that one per
    slice of the period and kind."""
    if len(events) <= MAX_MARKERS:
        return [_Marker(at, c, f"{at.date().isoformat()} {at.strftime('%H:%M')} UTC, {kind}, "
                               f"by {actor}") for at, c, kind, actor in events]
    per_day = Counter((at.date(), c.key) for at, c, _, _ in events)
    if len(per_day) <= MAX_MARKERS:
        return [_Marker(datetime.combine(d, time(12), UTC), _category(k),
                        f"{d.isoformat()}: {n} {_category(k).label}")
                for (d, k), n in sorted(per_day.items())]
    span = (last - first).days + 1
    per_slice = Counter((min(SLICES - 1, (at.date() - first).days * SLICES // span), c.key)
                        for at, c, _, _ in events)
    found = []
    for (s, k), n in sorted(per_slice.items()):
        start = first + timedelta(days=s * span // SLICES)
        end = first + timedelta(days=max(s * span // SLICES, (s + 1) * span // SLICES - 1))
        found.append(_Marker(datetime.combine(start, time(12), UTC), _category(k),
                             f"{start.isoformat()} to {end.isoformat()}: {n} "
                             f"{_category(k).label}"))
    return found


def _category(key: str) -> Category:
    return next(c for c in CATEGORIES if c.key == key)


def _shape(c: Category, x: float, y: float, tip: str) -> str:
    fill = f'fill="{c.colour}" stroke="{c.colour}"'
    if c.shape == "triangle":
        body = f'<polygon points="{x:.1f},{y - 6:.1f} {x - 6:.1f},{y + 5:.1f} ' \
               f'{x + 6:.1f},{y + 5:.1f}" {fill}/>'
    elif c.shape == "cross":
        body = (f'<path d="M{x - 5:.1f},{y - 5:.1f} L{x + 5:.1f},{y + 5:.1f} M{x - 5:.1f},'
                f'{y + 5:.1f} L{x + 5:.1f},{y - 5:.1f}" stroke="{c.colour}" '
                'stroke-width="3" fill="none"/>')
    elif c.shape == "diamond":
        body = f'<polygon points="{x:.1f},{y - 7:.1f} {x + 6:.1f},{y:.1f} {x:.1f},' \
               f'{y + 7:.1f} {x - 6:.1f},{y:.1f}" {fill}/>'
    elif c.shape == "square":
        body = f'<rect x="{x - 5:.1f}" y="{y - 5:.1f}" width="10" height="10" {fill}/>'
    else:
        body = f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" {fill}/>'
    return f'<g class="marker marker-{c.key}"><title>{text(tip)}</title>{body}</g>'


def _ticks(first: date, last: date) -> list[date]:
    days = (last - first).days
    count = min(6, days + 1)
    if count == 1:
        return [first]
    return sorted({first + timedelta(days=round(i * days / (count - 1)))
                   for i in range(count)})


def timeline_svg(items: Iterable[Event], *, since: date | None, until: date | None,
                 title: str) -> Markup:
    """The events between ``since`` and ``until`` (days, inclusive; either open: from the
    events) on a time axis, one lane per kind, with a legend and a summary in words."""
    given = [(_utc(i.at), category_of(i.kind), i.kind, i.actor) for i in items]
    bounds = _bounds([at.date() for at, _, _, _ in given], since, until)
    events = sorted((e for e in given if bounds and bounds[0] <= e[0].date() <= bounds[1]),
                    key=lambda e: e[0])
    ident = _ident("timeline", title)
    counts = Counter(c.key for _, c, _, _ in events)
    period = (f" from {bounds[0].isoformat()} to {bounds[1].isoformat()}" if bounds else "")
    summary = (f"{len(events)} event{'s' if len(events) != 1 else ''}{period}: " + ", ".join(
        f"{counts[c.key]} {c.label}" for c in CATEGORIES) + "." if events
        else f"No events in the period{period}.")
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart timeline" '
             f'viewBox="0 0 {WIDTH} 230" width="100%" '
             f'aria-labelledby="{ident}-title {ident}-desc">',
             f'<title id="{ident}-title">{text(title)}</title>',
             f'<desc id="{ident}-desc">{text(summary)}</desc>',
             f'<rect width="{WIDTH}" height="230" fill="#ffffff"/>',
             f'<line x1="{LEFT}" y1="{AXIS_Y}" x2="{RIGHT}" y2="{AXIS_Y}" stroke="{INK}"/>']
    for c in CATEGORIES:
        parts.append(f'<text x="{LEFT - 10}" y="{c.y + 4}" text-anchor="end" fill="{MUTED}" '
                     f'{FONT}>{text(c.label)}</text>')
    if bounds is None or not events:
        parts.append(f'<text x="{(LEFT + RIGHT) // 2}" y="{AXIS_Y - 50}" text-anchor="middle" '
                     f'fill="{INK}" {FONT}>No events in the period</text>')
    if bounds is not None:
        parts += _axis(bounds[0], bounds[1])
        start = datetime.combine(bounds[0], time.min, UTC)
        seconds = (datetime.combine(bounds[1], time.max, UTC) - start).total_seconds()
        for m in _markers(events, bounds[0], bounds[1]):
            x = LEFT + (RIGHT - LEFT) * (m.at - start).total_seconds() / seconds
            parts.append(_shape(m.category, x, m.category.y, m.tip))
    parts += _legend(counts)
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text above went through text())


def _axis(first: date, last: date) -> list[str]:
    span = max(1, (last - first).days)
    out = []
    for tick in _ticks(first, last):
        x = LEFT + (RIGHT - LEFT) * (tick - first).days / span if last > first else (
            (LEFT + RIGHT) / 2)
        out.append(f'<line x1="{x:.1f}" y1="{AXIS_Y}" x2="{x:.1f}" y2="{AXIS_Y + 5}" '
                   f'stroke="{INK}"/><text x="{x:.1f}" y="{AXIS_Y + 18}" '
                   f'text-anchor="middle" fill="{INK}" {FONT}>{tick.isoformat()}</text>')
    return out


def _legend(counts: Mapping[str, int]) -> list[str]:
    out = ['<g class="legend">']
    for i, c in enumerate(CATEGORIES):
        x = 20 + i * 156
        out.append(_shape(c, x + 6, 205, c.label).replace('class="marker ', 'class="key '))
        out.append(f'<text x="{x + 16}" y="209" fill="{INK}" {FONT}>'
                   f'{text(c.label)} ({counts.get(c.key, 0)})</text>')
    out.append("</g>")
    return out


def bars_svg(counts: Mapping[int, int], *, title: str, unit: str = "destructions due"
             ) -> Markup:
    """One bar per year, its value above it and the year below; no years: a message."""
    if any(n < 0 for n in counts.values()):
        raise ValueError("a count cannot be negative")
    years = sorted(counts)
    ident = _ident("bars", title)
    summary = ("; ".join(f"{y}: {counts[y]}" for y in years) if years
               else f"No {unit} in any year.")
    height, base, top = 240, 200, 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart bars" '
             f'viewBox="0 0 {WIDTH} {height}" width="100%" '
             f'aria-labelledby="{ident}-title {ident}-desc">',
             f'<title id="{ident}-title">{text(title)}</title>',
             f'<desc id="{ident}-desc">{text(f"{unit.capitalize()} by year: {summary}")}</desc>',
             f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
             f'<line x1="40" y1="{base}" x2="{WIDTH - 20}" y2="{base}" stroke="{INK}"/>']
    if not years:
        parts.append(f'<text x="{WIDTH // 2}" y="{base - 80}" text-anchor="middle" '
                     f'fill="{INK}" {FONT}>{text(f"No {unit}")}</text>')
    highest = max(counts.values(), default=0) or 1
    slot = (WIDTH - 60) / max(1, len(years))
    label_every = max(1, round(len(years) / 20))  # at most about 20 labels fit
    for i, year in enumerate(years):
        n = counts[year]
        h = (base - top) * n / highest
        x = 40 + i * slot
        parts.append(f'<g class="bar"><title>{text(f"{year}: {n} {unit}")}</title>'
                     f'<rect x="{x + slot * 0.15:.1f}" y="{base - h:.1f}" '
                     f'width="{slot * 0.7:.1f}" height="{h:.1f}" fill="#0b5cad"/></g>')
        if i % label_every == 0:
            middle = x + slot / 2
            parts.append(f'<text x="{middle:.1f}" y="{base - h - 5:.1f}" text-anchor="middle" '
                         f'fill="{INK}" {FONT}>{n}</text><text x="{middle:.1f}" '
                         f'y="{base + 16}" text-anchor="middle" fill="{INK}" {FONT}>'
                         f'{year}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text above went through text())
