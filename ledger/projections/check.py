"""Audit a read model: compare its rows with a replay of the log and name the first
difference (a row missing, added, or with another value; a tracking row moved).

The comparison streams: the table is read in position order a page at a time while the
replayed rows arrive in log order, so it costs O(page) memory at any log size. Rows past
the tracking position are not expected (they are not applied yet), unless the table holds
some: then the tracking row was moved back.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, select

from ledger.projections.base import Projection, Shredded

PAGE = 2000


@dataclass(frozen=True)
class Difference:
    read_model: str
    position: int | None  # the log position (notification id) where they first differ
    detail: str

    def describe(self) -> str:
        where = f" at position {self.position}" if self.position is not None else ""
        return f"read model {self.read_model} disagrees with the log{where}: {self.detail}"


def _value(value: Any) -> Any:
    if isinstance(value, datetime):  # SQLite gives naive UTC back
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    return value


class ReplayCheck:
    """Feed it the log's events in order (``feed``), then ``finish``."""

    def __init__(self, projection: Projection, name: str) -> None:
        self.projection = projection
        self.name = name
        self.topics = frozenset(projection.topics)
        self.tracked = projection.position()
        columns = list(projection.table.columns)
        self._columns = [c.name for c in columns]
        self._times = [i for i, c in enumerate(columns) if isinstance(c.type, DateTime)]
        self._position = self._columns.index("position")
        self._stored = self._table_rows()
        self.first: Difference | None = None
        self.last_seen = 0

    def _table_rows(self) -> Iterator[tuple[Any, ...]]:
        table, log = self.projection.table, self.projection.log
        last = None
        while True:
            query = select(table).order_by(table.c.position).limit(PAGE)
            if last is not None:
                query = query.where(table.c.position > last)
            with log.engine.connect() as conn:
                rows = [self._normalised(tuple(r)) for r in conn.execute(query)]
            if not rows:
                return
            yield from rows
            last = rows[-1][self._position]

    def _normalised(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        if not self._times:
            return row
        values = list(row)
        for i in self._times:
            values[i] = _value(values[i])
        return tuple(values)

    def feed(self, position: int, topic: str, event: Any) -> None:
        """One event of the log (its notification id, topic and decoded event: see
        :meth:`Projection.decode`)."""
        self.last_seen = position
        if self.first is not None or topic not in self.topics or position > self.tracked:
            return
        # A shredded event's row says less than the row applied before the purge did.
        compared = (set(self.projection.readable_when_shredded)
                    if isinstance(event, Shredded) else None)
        for made in self.projection.made(position, event):
            expected = self._normalised(tuple(made.get(c) for c in self._columns))
            stored = next(self._stored, None)
            if stored != expected:
                self.first = self._compare(position, expected, stored, compared)
                if self.first is not None:
                    return

    def _compare(self, position: int, expected: tuple[Any, ...],
                 stored: tuple[Any, ...] | None,
                 compared: set[str] | None = None) -> Difference | None:
        if stored is None or int(stored[self._position]) > position:
            return Difference(self.name, position, "a row the log makes is missing (deleted)")
        at = int(stored[self._position])
        if at < position:
            return Difference(self.name, at,
                              "the read model has a row no event makes (inserted)")
        for column, have, want in zip(self._columns, stored, expected, strict=True):
            if have != want and (compared is None or (column in compared
                                                      and want is not None)):
                return Difference(self.name, position, f"column {column} was changed")
        return None

    def finish(self, log_end: int) -> Difference | None:
        """The first difference, once every event up to notification id ``log_end`` was fed."""
        if self.first is not None:
            return self.first
        extra = next(self._stored, None)
        if extra is not None and int(extra[self._position]) > self.tracked:
            # A follower that caught up while we compared wrote it with its tracking row.
            self.tracked = max(self.tracked, self.projection.position())
            while extra is not None and int(extra[self._position]) <= self.tracked:
                extra = next(self._stored, None)
        if extra is not None:
            at = int(extra[self._position])
            detail = ("the read model has rows after its tracking position "
                      f"{self.tracked}: the tracking row was moved back" if at > self.tracked
                      else "the read model has a row no event makes (inserted)")
            return Difference(self.name, at, detail)
        if self.tracked > log_end:
            return Difference(self.name, None, f"its tracking row says {self.tracked}, past "
                                               f"the end of the log ({log_end})")
        return None
