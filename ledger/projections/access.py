"""The access history of one store: one row per access, refusal or disclosure event.

Rows hold ids, codes, times and flags only; reasons, recipients and descriptions stay in
the sealed events and are read from there for the rows a query returns. Indexed by
client, by staff member and by time, so one client's history costs the same whatever
the size of the log.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    MetaData,
    String,
    Table,
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
        query = select(t.c.position)
        if client_id is not None:
            query = query.where(t.c.client_id == client_id)
        if staff_id is not None:
            query = query.where(t.c.actor_id == staff_id)
        if since is not None:
            query = query.where(t.c.at >= day_start(since))
        if until is not None:
            query = query.where(t.c.at < day_start(until + timedelta(days=1)))
        if outcome is not None:
            query = query.where(t.c.outcome == outcome)
        if break_glass:
            query = query.where(t.c.break_glass.is_(True))
        if accountable_disclosures:
            query = query.where(t.c.action == "disclose", t.c.outcome == "granted",
                                t.c.accountable.is_(True))
        with self.log.engine.connect() as conn:
            return [int(p) for p in conn.execute(query.order_by(t.c.position)).scalars()]

    def rows(self) -> list[tuple[Any, ...]]:
        """Every row, in log order (for comparing a projection with a rebuild)."""
        with self.log.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(
                select(self.table).order_by(self.table.c.position))]


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, UTC)
