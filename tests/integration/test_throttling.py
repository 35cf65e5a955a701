"""Repeated failed authentications from one source are throttled (issue 13): the attempts
of a source cooling down are refused unrecorded, one event records each cool-down, a valid
credential works again once it ends, and a success resets the count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ledger.aggregates.audit import AuditEntry
from ledger.bootstrap import Ledger
from ledger.errors import Throttled, Unauthenticated
from tests.conftest import all_events, seed

T0 = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
BAD = "Bearer lgst_" + "A" * 43


def reasons(lg: Ledger) -> list[str | None]:
    return [e.reason for e in all_events(lg.main)
            if isinstance(e, AuditEntry.Recorded) and e.action == "authenticate"]


def attempt(lg: Ledger, header: str, source: str, at: datetime) -> str:
    try:
        return lg.authenticator.authenticate(header, source=source, at=at).staff_id
    except Throttled as e:
        return f"throttled {e.retry_after}"
    except Unauthenticated:
        return "unauthenticated"


def test_a_source_that_keeps_failing_cools_down_and_comes_back(lg: Ledger) -> None:
    seed(lg, T0)
    good = f"Bearer {lg.tokens.issue('dr-lee', by='admin', at=T0).token}"
    assert [attempt(lg, BAD, "198.51.100.4", T0) for _ in range(10)] == ["unauthenticated"] * 10
    assert [attempt(lg, h, "198.51.100.4", T0 + timedelta(seconds=20)) for h in (BAD, good)] \
        == ["throttled 40", "throttled 40"]
    assert attempt(lg, good, "192.0.2.1", T0) == "dr-lee"  # another source is not held up
    assert reasons(lg) == ["unknown token (from 198.51.100.4)"] * 10 + [
        "throttled: 10 failed authentications within 60 s; refused for 60 s "
        "(from 198.51.100.4)"]  # the refused attempts added nothing
    assert attempt(lg, good, "198.51.100.4", T0 + timedelta(seconds=60)) == "dr-lee"
    # the success reset the source: ten more failures before the next (not doubled) cool-down
    after = T0 + timedelta(seconds=61)
    assert [attempt(lg, BAD, "198.51.100.4", after) for _ in range(11)][-2:] == [
        "unauthenticated", "throttled 60"]


def test_the_message_of_a_throttled_attempt_says_only_to_wait(memory_lg: Ledger) -> None:
    seed(memory_lg, T0)
    for _ in range(10):
        attempt(memory_lg, BAD, "s", T0)
    with pytest.raises(Throttled, match=r"^too many failed authentications; try again later$"):
        memory_lg.authenticator.authenticate(BAD, source="s", at=T0)


def test_a_source_is_recorded_escaped_and_bounded(memory_lg: Ledger) -> None:
    seed(memory_lg, T0)
    attempt(memory_lg, BAD, "10.0.0.1\nforged line" + "x" * 500, T0)
    (reason,) = reasons(memory_lg)
    assert reason is not None and "\n" not in reason and len(reason) < 150
    assert reason.startswith("unknown token (from 10.0.0.1\\nforged line")
