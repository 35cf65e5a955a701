"""The console's SVG charts: well-formed, the right markers, shapes as well as colours, text
escaped, bounded past a thousand events, and never failing on arbitrary input."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.console.charts import CATEGORIES, MAX_MARKERS, SLICES, Mark, bars_svg, timeline_svg

NS = "{http://www.w3.org/2000/svg}"
T = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
HOSTILE = '<script>alert("x")</script>&amp;'


def parsed(svg: object) -> ET.Element:
    return ET.fromstring(str(svg))


def markers(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.iter(f"{NS}g") if "marker" in g.get("class", "").split()]


def tips(root: ET.Element) -> list[str]:
    return [m.findtext(f"{NS}title") or "" for m in markers(root)]


def test_no_events_draws_an_axis_and_says_so() -> None:
    root = parsed(timeline_svg([], since=date(2026, 1, 1), until=date(2026, 1, 31),
                               title="Client timeline"))
    assert root.get("role") == "img"
    assert markers(root) == []
    assert root.findtext(f"{NS}desc") == "No events in the period from 2026-01-01 to 2026-01-31."
    labels = [t.text for t in root.iter(f"{NS}text")]
    assert "No events in the period" in labels
    assert "2026-01-01" in labels and "2026-01-31" in labels


def test_the_title_and_summary_label_the_chart() -> None:
    root = parsed(timeline_svg([Mark(T, "disclosure", "comp")], since=None, until=None,
                               title="Psychotherapy notes"))
    title_id, desc_id = (root.get("aria-labelledby") or "").split()
    by_id = {e.get("id"): e.text for e in root.iter() if e.get("id")}
    assert by_id[title_id] == "Psychotherapy notes"
    assert by_id[desc_id] == ("1 event from 2026-03-02 to 2026-03-02: 1 releases, 0 refusals, "
                              "0 break-the-glass, 0 other uses, 0 retention events.")
    assert tips(root) == ["2026-03-02 09:15 UTC, disclosure, by comp"]


def test_each_kind_has_its_own_shape_and_colour_and_a_legend() -> None:
    kinds = ["release", "refusal", "break-the-glass", "use", "hold"]
    root = parsed(timeline_svg([Mark(T + timedelta(hours=i), k, "a") for i, k in
                                enumerate(kinds)], since=None, until=None, title="t"))
    drawn = markers(root)
    assert [m.get("class") for m in drawn] == [
        "marker marker-release", "marker marker-refusal", "marker marker-break-the-glass",
        "marker marker-use", "marker marker-retention"]
    shapes = [(m[1].tag, m[1].get("points", "").count(" ")) for m in drawn]
    assert len(set(shapes)) == 5  # triangle, cross, diamond, circle, square
    colours = {m[1].get("stroke") for m in drawn}
    assert len(colours) == 5
    legend = [t.text for t in root.iter(f"{NS}text") if t.text and "(" in t.text]
    assert legend == ["releases (1)", "refusals (1)", "break-the-glass (1)",
                      "other uses (1)", "retention events (1)"]


def test_colours_meet_wcag_aa_on_white() -> None:
    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
                   for c in channels]
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    for c in CATEGORIES:
        assert (1.05) / (luminance(c.colour) + 0.05) >= 4.5, c


def test_a_hostile_actor_and_title_stay_text() -> None:
    svg = str(timeline_svg([Mark(T, "use", HOSTILE)], since=None, until=None, title=HOSTILE))
    assert "<script" not in svg
    root = parsed(svg)
    assert not list(root.iter(f"{NS}script")) and not list(root.iter("script"))
    assert root.findtext(f"{NS}title") == HOSTILE
    assert tips(root) == [f"2026-03-02 09:15 UTC, use, by {HOSTILE}"]


def test_characters_xml_cannot_hold_are_dropped() -> None:
    root = parsed(timeline_svg([Mark(T, "use", "a\x00b\x1bc\ufffe")], since=None, until=None,
                               title="x\x01y"))
    assert tips(root) == ["2026-03-02 09:15 UTC, use, by abc"]
    assert root.findtext(f"{NS}title") == "xy"


def test_events_outside_the_period_are_left_out() -> None:
    items = [Mark(T, "use", "a"), Mark(T + timedelta(days=40), "use", "b")]
    root = parsed(timeline_svg(items, since=date(2026, 3, 1), until=date(2026, 3, 31),
                               title="t"))
    assert len(markers(root)) == 1
    assert (root.findtext(f"{NS}desc") or "").startswith("1 event from 2026-03-01 to 2026-03-31")


def test_many_events_are_counted_per_day_and_kind() -> None:
    items = [Mark(T + timedelta(minutes=i * 3), "use" if i % 3 else "refusal", f"s{i}")
             for i in range(MAX_MARKERS + 500)]  # about three days
    root = parsed(timeline_svg(items, since=None, until=None, title="t"))
    found = tips(root)
    assert len(found) == 8  # four days (2 to 5 March), two kinds each
    # 2 March from 09:15: events 0 to 294, every third a refusal.
    assert found[:2] == ["2026-03-02: 99 refusals", "2026-03-02: 196 other uses"]
    assert sum(int(t.split(": ")[1].split()[0]) for t in found) == MAX_MARKERS + 500


def test_events_on_too_many_days_are_counted_per_slice_of_the_period() -> None:
    items = [Mark(T + timedelta(days=i), "use", "a") for i in range(MAX_MARKERS + 1)]
    root = parsed(timeline_svg(items, since=None, until=None, title="t"))
    found = tips(root)
    assert len(found) == SLICES
    assert sum(int(t.split(": ")[1].split()[0]) for t in found) == MAX_MARKERS + 1
    assert found[0].startswith("2026-03-02 to 2026-03-0")


def test_bars_by_year_with_values_and_years() -> None:
    root = parsed(bars_svg({2030: 12, 2027: 3, 2028: 0}, title="Destructions due by year"))
    bars = [g for g in root.iter(f"{NS}g") if g.get("class") == "bar"]
    assert [b.findtext(f"{NS}title") for b in bars] == [
        "2027: 3 destructions due", "2028: 0 destructions due", "2030: 12 destructions due"]
    heights = [float(b[1].get("height") or "nan") for b in bars]
    assert heights[1] == 0 and heights[0] < heights[2]
    labels = [t.text for t in root.iter(f"{NS}text")]
    assert labels == ["3", "2027", "0", "2028", "12", "2030"]
    assert root.findtext(f"{NS}desc") == "Destructions due by year: 2027: 3; 2028: 0; 2030: 12"


def test_no_years_is_a_message() -> None:
    root = parsed(bars_svg({}, title="Destructions due by year"))
    assert [t.text for t in root.iter(f"{NS}text")] == ["No destructions due"]
    assert not [g for g in root.iter(f"{NS}g") if g.get("class") == "bar"]


def test_a_negative_count_is_refused() -> None:
    with pytest.raises(ValueError, match="a count cannot be negative"):
        bars_svg({2027: -1}, title="t")


KINDS = st.sampled_from(["use", "disclosure", "release", "refusal", "refused", "break-glass",
                         "break-the-glass", "hold", "destruction", "not-found"]) | st.text()
MARKS = st.builds(Mark, st.datetimes(timezones=st.just(UTC)), KINDS, st.text())


@settings(max_examples=200, deadline=None)
@given(st.lists(MARKS, max_size=30), st.none() | st.dates(), st.none() | st.dates(),
       st.text())
def test_any_timeline_is_well_formed(items: list[Mark], since: date | None,
                                     until: date | None, title: str) -> None:
    root = parsed(timeline_svg(items, since=since, until=until, title=title))
    days = [i.at.date() for i in items]
    first = since or (min(days) if days else until)
    last = until or (max(days) if days else since)
    if first is not None and last is not None and first > last:
        first, last = last, first
    inside = [d for d in days if first is not None and last is not None
              and first <= d <= last]
    assert len(markers(root)) == len(inside)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.integers(1, 9999), st.integers(0, 10**9), max_size=60), st.text())
def test_any_bars_are_well_formed(counts: dict[int, int], title: str) -> None:
    root = parsed(bars_svg(counts, title=title))
    assert len([g for g in root.iter(f"{NS}g") if g.get("class") == "bar"]) == len(counts)
