"""The access history of one store: one row per access, refusal or disclosure event.

Rows hold ids, codes, times and flags only; reasons, recipients and descriptions stay in
the sealed events and are read from there for the rows a query returns. Indexed by
client, by staff member and by time, so one client's history costs the same whatever
the size of the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    MetaData,
    Select,
    String,
    Table,
    func,
    select,
)

from ledger.aggregates.audit import AuditEntry
from ledger.aggregates.disclosure import Disclosure
from ledger.projections.base import Projection


class AccessProjection(Projection):
    name = "access"
    reads = (AuditEntry.Recorded, Disclosure.Recorded)

    def define(self, metadata: MetaData) -> list[Table]:
        name = f"{self.prefix}access"
        self._table = Table(
            name, metadata,
            Column("position", BigInteger, primary_key=True, autoincrement=False),
            Column("at", DateTime(timezone=True), nullable=False),
            Column("actor_id", String(200), nullable=False),
            Column("actor_role", String(40), nullable=False),
            Column("action", String(40), nullable=False),
            Column("outcome", String(20), nullable=False),
            Column("object_type", String(40), nullable=False),
            Column("client_id", String(36)),
            Column("purpose", String(20)),
            Column("break_glass", Boolean, nullable=False),
            Column("recipient_type", String(40)),
            Column("accountable", Boolean),
            Index(f"{name}_client_at", "client_id", "at"),
            Index(f"{name}_actor_at", "actor_id", "at"),
            Index(f"{name}_at", "at"),
        )
        return [self._table]

    @property
    def table(self) -> Table:
        return self._table

    def rows_for(self, position: int, event: Any) -> list[dict[str, Any]]:
        row: dict[str, Any] = {
            "position": position, "at": event.timestamp, "actor_id": event.actor_id,
            "actor_role": event.actor_role, "outcome": event.outcome,
            "object_type": event.object_type,
            "client_id": str(event.client_id) if event.client_id else None,
            "purpose": event.purpose}
        if isinstance(event, Disclosure.Recorded):
            row |= {"action": "disclose", "break_glass": False,
                    "recipient_type": event.recipient_type, "accountable": event.accountable}
        else:
            row |= {"action": event.action, "break_glass": event.break_glass,
                    "recipient_type": None, "accountable": None}
        return [row]

    def positions(self, *, client_id: str | None = None, staff_id: str | None = None,
                  since: date | None = None, until: date | None = None,
                  outcome: str | None = None, break_glass: bool = False,
                  accountable_disclosures: bool = False) -> list[int]:
        """Positions of the matching rows, in log order (answered from the indexes)."""
        t = self.table
        query = RowFilter(client_id=client_id, staff_id=staff_id, since=since, until=until,
                          outcome=outcome, break_glass=break_glass,
                          accountable_disclosures=accountable_disclosures
                          ).where(t, select(t.c.position))
        with self.log.engine.connect() as conn:
            return [int(p) for p in conn.execute(query.order_by(t.c.position)).scalars()]

    def first(self, rows: RowFilter, *, sort: str, descending: bool,
              limit: int) -> list[dict[str, Any]]:
        """The first ``limit`` matching rows ordered by ``sort``, then time, then position
        (the whole order reversed with ``descending``), as ``ledger.queries`` orders
        records: no value first, text by code point. ``at`` comes back in UTC."""
        t = self.table
        order = [self._ordered(t.c[sort], descending)]
        if sort != "at":
            order.append(self._ordered(t.c.at, descending))
        order.append(self._ordered(t.c.position, descending))
        query = rows.where(t, select(t)).order_by(*order).limit(limit)
        with self.log.engine.connect() as conn:
            found = [dict(r._mapping) for r in conn.execute(query)]
        for row in found:
            row["at"] = in_utc(row["at"])
        return found

    def matching(self, rows: RowFilter) -> int:
        """How many rows match (a COUNT over the indexes)."""
        t = self.table
        with self.log.engine.connect() as conn:
            return int(conn.execute(rows.where(t, select(func.count()).select_from(t)))
                       .scalar() or 0)

    def agrees(self, row: dict[str, Any], position: int, event: Any) -> bool:
        """Whether the stored ``row`` is the one row the event at ``position`` makes."""
        made = self.made(position, event)
        return len(made) == 1 and {k: in_utc(v) if isinstance(v, datetime) else v
                                   for k, v in made[0].items()} == row

    def _ordered(self, column: Any, descending: bool) -> Any:
        nullable = column.nullable
        if isinstance(column.type, String) and self.log.engine.dialect.name == "postgresql":
            column = column.collate("C")  # code-point order, as Python compares text
        if descending:
            return column.desc().nulls_last() if nullable else column.desc()
        return column.asc().nulls_first() if nullable else column.asc()

    def rows(self) -> list[tuple[Any, ...]]:
        """Every row, in log order (for comparing a projection with a rebuild)."""
        with self.log.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(
                select(self.table).order_by(self.table.c.position))]


@dataclass(frozen=True)
class RowFilter:
    """Which rows a listing reads (each condition answered from an index)."""

    client_id: str | None = None
    staff_id: str | None = None
    since: date | None = None
    until: date | None = None
    outcome: str | None = None
    break_glass: bool = False
    accountable_disclosures: bool = False

    def where(self, t: Table, query: Select[Any]) -> Select[Any]:
        if self.client_id is not None:
            query = query.where(t.c.client_id == self.client_id)
        if self.staff_id is not None:
            query = query.where(t.c.actor_id == self.staff_id)
        if self.since is not None:
            query = query.where(t.c.at >= day_start(self.since))
        if self.until is not None:
            query = query.where(t.c.at < day_start(self.until + timedelta(days=1)))
        if self.outcome is not None:
            query = query.where(t.c.outcome == self.outcome)
        if self.break_glass:
            query = query.where(t.c.break_glass.is_(True))
        if self.accountable_disclosures:
            query = query.where(t.c.action == "disclose", t.c.outcome == "granted",
                                t.c.accountable.is_(True))
        return query


def in_utc(value: datetime) -> datetime:
    """A stored time in UTC (SQLite gives naive UTC back)."""
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, UTC)
