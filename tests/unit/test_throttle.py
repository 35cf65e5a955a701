"""The throttle on failed authentications (issue 13): a source that keeps failing cools
down for a time that doubles up to a cap and always ends; a success resets it; memory stays
bounded. Pure, with time passed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ledger.errors import Throttled
from ledger.services.throttle import Throttle

T0 = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
S = timedelta(seconds=1)


def fail(throttle: Throttle, source: str, at: datetime, times: int) -> list[timedelta | None]:
    return [throttle.failed(source, at) for _ in range(times)]


def retry_after(throttle: Throttle, source: str, at: datetime) -> int | None:
    try:
        throttle.check(source, at)
    except Throttled as e:
        return e.retry_after
    return None


def test_the_tenth_failure_within_a_minute_starts_a_cool_down_that_ends() -> None:
    throttle = Throttle()
    assert fail(throttle, "10.0.0.1", T0, 9) == [None] * 9
    assert retry_after(throttle, "10.0.0.1", T0) is None
    assert throttle.failed("10.0.0.1", T0 + 59 * S) == timedelta(seconds=60)
    with pytest.raises(Throttled, match=r"^too many failed authentications; try again later$"):
        throttle.check("10.0.0.1", T0 + 59 * S)
    assert retry_after(throttle, "10.0.0.1", T0 + 89 * S) == 30
    assert retry_after(throttle, "10.0.0.1", T0 + 118.5 * S) == 1  # rounded up
    assert retry_after(throttle, "10.0.0.1", T0 + 119 * S) is None  # over
    assert retry_after(throttle, "10.0.0.2", T0 + 60 * S) is None  # another source


def test_failures_spread_wider_than_the_window_are_not_throttled() -> None:
    throttle = Throttle()
    assert [throttle.failed("s", T0 + 7 * i * S) for i in range(30)] == [None] * 30


def test_each_further_cool_down_doubles_up_to_the_cap_and_a_success_resets() -> None:
    throttle = Throttle()
    at, lengths = T0, []
    for _ in range(7):
        started = fail(throttle, "s", at, 10)[-1]
        assert started is not None
        lengths.append(int(started.total_seconds()))
        assert retry_after(throttle, "s", at) == lengths[-1]
        assert fail(throttle, "s", at, 10) == [None] * 10  # refused attempts count nothing
        at += started
        assert retry_after(throttle, "s", at) is None  # never locked out for good
    assert lengths == [60, 120, 240, 480, 900, 900, 900]
    throttle.succeeded("s")
    assert fail(throttle, "s", at, 10)[-1] == timedelta(seconds=60)


def test_a_source_quiet_for_the_longest_cool_down_is_forgiven() -> None:
    throttle = Throttle()
    assert fail(throttle, "s", T0, 10)[-1] == timedelta(seconds=60)
    assert fail(throttle, "s", T0 + 60 * S, 10)[-1] == timedelta(seconds=120)
    later = T0 + 180 * S + timedelta(minutes=15)
    assert fail(throttle, "s", later, 10)[-1] == timedelta(seconds=60)


def test_memory_is_bounded_and_the_least_recently_failing_source_goes_first() -> None:
    throttle = Throttle(limit=2, sources=3)
    for i in range(5):
        throttle.failed(f"10.0.0.{i}", T0 + i * S)
    assert len(throttle) == 3
    assert throttle.failed("10.0.0.4", T0 + 5 * S) == timedelta(seconds=60)  # still counted
    assert throttle.failed("10.0.0.0", T0 + 5 * S) is None  # forgotten: counts afresh


def test_a_throttle_needs_sane_limits() -> None:
    with pytest.raises(ValueError, match=r"^a throttle needs positive limits"):
        Throttle(cooldown=timedelta(minutes=20))
