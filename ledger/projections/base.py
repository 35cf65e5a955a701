"""A projection follows one store's notification log and keeps read tables beside it.

Read tables hold no note content and no client identity: ids, codes, times and flags.
Anything else a report needs is read from the (sealed) event itself when it is shown.
On the embedded SQLite store the library's push subscription is not available, so
projections are pulled: each report catches up before it answers, and
``ledger projections`` shows and rebuilds them. Batches and the tracking row: see
:mod:`ledger.persistence.tracking`.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from hashlib import sha256
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic
from sqlalchemy import Connection, String, Table
from sqlalchemy.exc import IntegrityError

from ledger.display import escape
from ledger.persistence.log import EventLog
from ledger.persistence.mapper import ContentShredded
from ledger.persistence.tracking import Progress, Tracked

BATCH = 500


@dataclass(frozen=True)
class Shredded:
    """An event sealed under a key that was destroyed: what it was, never what it said. A
    projection that reads such events makes rows from it with only the columns it names in
    ``readable_when_shredded`` (the check compares no others, and those only where the
    shredded event gives a value: the row applied before the purge held more)."""

    originator_id: UUID
    topic: str


class Projection(Tracked):
    """Subclasses name themselves, say which event classes they read, define their tables
    and turn one event into rows."""

    reads: tuple[type, ...]
    # The columns the check compares for a shredded event (empty: this projection reads
    # none, and a shredded event is an error).
    readable_when_shredded: tuple[str, ...] = ()

    def __init__(self, log: EventLog) -> None:
        self.topics = [get_topic(cls) for cls in self.reads]
        self._text_widths: dict[str, int] | None = None
        super().__init__(log)

    @abstractmethod
    def rows_for(self, position: int, event: Any) -> list[dict[str, Any]]:
        """The rows one event makes (none, one or more); the same function feeds the
        table and the check that compares the table with a replay of the log."""

    def decode(self, notification: Notification) -> Any:
        """The event of ``notification``; :class:`Shredded` where its key was destroyed,
        for a projection that reads events sealed under a client's key."""
        try:
            return self.log.decode(notification)
        except ContentShredded:
            if not self.readable_when_shredded:
                raise
            return Shredded(UUID(str(notification.originator_id)), notification.topic)

    def made(self, position: int, event: Any) -> list[dict[str, Any]]:
        """The rows one event makes, each text value fitted to its column (:func:`fit`):
        what an attempt recorded can never stop the read model."""
        widths = self._widths()
        return [{name: fit(value, widths[name]) if name in widths and isinstance(value, str)
                 else value for name, value in row.items()}
                for row in self.rows_for(position, event)]

    def _widths(self) -> dict[str, int]:
        """The text columns with a width limit (worked out once)."""
        if self._text_widths is None:
            self._text_widths = {c.name: c.type.length for c in self.table.columns
                                 if isinstance(c.type, String) and c.type.length}
        return self._text_widths

    def apply(self, conn: Connection, position: int, event: Any) -> None:
        """Write the rows for one event, inside the batch's transaction."""
        rows = self.made(position, event)
        if rows:
            conn.execute(self.table.insert(), rows)

    @property
    @abstractmethod
    def table(self) -> Table:
        """The read table (rows carry the log ``position`` they came from)."""

    def behind(self) -> int:
        """How many notifications this projection reads are not applied yet."""
        return self.count(after=self.position())

    def count(self, after: int = 0) -> int:
        """How many notifications this projection reads lie after position ``after``."""
        return self.log.count(after=after, topics=self.topics)

    def catch_up(self, *, batch: int | None = None, progress: Progress | None = None) -> int:
        """Apply every notification not yet applied; returns how many were applied.

        A page shorter than ``batch``, once applied, ends it: that page held everything
        logged when it was read, after this was called. Reading on would chase what writers
        append meanwhile: under a steady stream of writes a report kept catching up, one
        more transaction each time, with every concurrent report contending for the same
        tracking row."""
        batch = batch or BATCH
        applied = 0
        while True:
            start = self.position()
            page = self.log.notifications(start + 1, batch, self.topics)
            if not page:
                return applied
            if self._apply_batch(start, page):
                applied += len(page)
                if progress is not None:
                    progress(len(page))
                if len(page) < batch:
                    return applied

    def _apply_batch(self, start: int, page: Sequence[Notification]) -> bool:
        events = [(n.id, self.decode(n)) for n in page]
        try:
            with self.log.engine.begin() as conn:
                if not self.advance(conn, start, page[-1].id):
                    raise _Overtaken
                for position, event in events:
                    self.apply(conn, position, event)
        except _Overtaken:
            self.overtaken(start)
            return False  # another process applied this batch first; nothing was written
        except IntegrityError:
            raise self.moved_back(start) from None
        return True


def fit(value: str, width: int) -> str:
    """``value`` as a column of ``width`` characters stores it. Identifiers are validated
    before they are recorded, but an event written before that, or straight through the
    store API, may hold anything: a character no database column takes (NUL, an
    undecodable byte) is escaped, and a value too long keeps its start and a digest of
    the whole, so distinct values stay distinct and the projection never fails on it."""
    if "\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value):
        value = escape(value)
    if len(value) <= width:
        return value
    digest = sha256(value.encode("utf-8", "backslashreplace")).hexdigest()[:16]
    return f"{value[:width - len(digest) - 1]}~{digest}"


class _Overtaken(Exception):
    """Raised inside a batch's transaction to roll it back."""
