"""Throttling failed authentications per source (the client address the front end passes).

After ``limit`` failures from one source within ``window``, that source cools down: every
attempt from it is refused with :class:`~ledger.errors.Throttled` (HTTP 429, ``Retry-After``)
before any credential is looked at, until the cool-down ends. The first cool-down lasts
``cooldown``; each further one from the same source doubles it, up to ``longest``. It always
ends, so a valid user behind the same address is never locked out for longer than
``longest``; a success resets the source, and so does a quiet ``longest`` (no failure
since the last one or the end of its cool-down).

The state is per process and in memory, and bounded: at most ``sources`` sources are kept,
the least recently failing forgotten first, so an attacker with many addresses cannot
exhaust memory (each forgotten source may only start its count again). Time is passed in.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ledger.errors import Throttled

LIMIT = 10
WINDOW = timedelta(seconds=60)
COOLDOWN = timedelta(seconds=60)
LONGEST = timedelta(minutes=15)
SOURCES = 10_000
_MAX_DOUBLINGS = 16  # past this the cap has long been reached


@dataclass
class _Source:
    last: datetime
    failures: deque[datetime] = field(default_factory=deque)  # the latest, at most ``limit``
    strikes: int = 0  # cool-downs so far: each doubles the next
    until: datetime | None = None  # the end of the current cool-down


class Throttle:
    def __init__(self, *, limit: int = LIMIT, window: timedelta = WINDOW,
                 cooldown: timedelta = COOLDOWN, longest: timedelta = LONGEST,
                 sources: int = SOURCES) -> None:
        if limit < 1 or sources < 1 or not timedelta(0) < cooldown <= longest \
                or window <= timedelta(0):
            raise ValueError("a throttle needs positive limits and cooldown <= longest")
        self.limit, self.window, self.cooldown, self.longest = limit, window, cooldown, longest
        self.sources = sources
        self._seen: OrderedDict[str, _Source] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, source: str, at: datetime) -> None:
        """Raise :class:`Throttled` while ``source`` cools down."""
        with self._lock:
            seen = self._seen.get(source)
            until = seen.until if seen is not None else None
        if until is not None and at < until:
            raise Throttled("too many failed authentications; try again later",
                            retry_after=math.ceil((until - at).total_seconds()))

    def failed(self, source: str, at: datetime) -> timedelta | None:
        """Count a failure from ``source``; the cool-down it starts, if it starts one (the
        caller records that once, not every refused attempt after it)."""
        with self._lock:
            seen = self._seen.pop(source, None)
            if seen is None or at - max(seen.last, seen.until or seen.last) >= self.longest:
                seen = _Source(last=at)  # new, or quiet long enough to be forgiven
            self._seen[source] = seen  # the most recent last
            while len(self._seen) > self.sources:
                self._seen.popitem(last=False)
            if seen.until is not None and at < seen.until:
                return None  # refused by check() before it was tried: nothing to count
            if seen.until is not None:
                seen.until = None  # the cool-down is over: a fresh count, strikes kept
                seen.failures.clear()
            seen.last = at
            seen.failures.append(at)
            if len(seen.failures) > self.limit:
                seen.failures.popleft()
            if len(seen.failures) < self.limit or at - seen.failures[0] >= self.window:
                return None
            length: timedelta = min(self.cooldown * 2 ** min(seen.strikes, _MAX_DOUBLINGS),
                                    self.longest)
            seen.strikes += 1
            seen.until = at + length
            seen.failures.clear()
            return length

    def succeeded(self, source: str) -> None:
        """A success from ``source`` forgets its failures and cool-downs."""
        with self._lock:
            self._seen.pop(source, None)

    def __len__(self) -> int:
        return len(self._seen)
