"""The designated record set's index: which progress-note versions existed, and when.

Fed by the main store's audit entries for writing and amending progress notes (audit
metadata, never crypto-shredded), so the index outlives a content purge. It never reads,
and cannot import, anything of the psychotherapy-note store.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    func,
    select,
)

from ledger.aggregates.audit import AuditEntry
from ledger.projections.base import Projection

PROGRESS_NOTE = "progress-note"


class NoteVersionsProjection(Projection):
    name = "record-set"
    reads = (AuditEntry.Recorded,)

    def define(self, metadata: MetaData) -> list[Table]:
        name = f"{self.prefix}note_versions"
        self._table = Table(
            name, metadata,
            Column("note_id", String(36), primary_key=True),
            Column("version", Integer, primary_key=True, autoincrement=False),
            Column("client_id", String(36), nullable=False),
            Column("author_id", String(200), nullable=False),
            Column("written_at", DateTime(timezone=True), nullable=False),
            Column("position", BigInteger, nullable=False),
            Index(f"{name}_client_at", "client_id", "written_at"),
        )
        return [self._table]

    @property
    def table(self) -> Table:
        return self._table

    def rows_for(self, position: int, event: Any) -> list[dict[str, Any]]:
        if (event.object_type != PROGRESS_NOTE or event.outcome != "granted"
                or event.action not in ("originate", "amend")):
            return []
        return [{"note_id": event.object_id, "version": event.version,
                 "client_id": str(event.client_id), "author_id": event.actor_id,
                 "written_at": event.timestamp, "position": position}]

    def as_of(self, client_id: UUID, moment: datetime) -> dict[UUID, int]:
        """Each of the client's notes that existed at ``moment``, with the version current
        then."""
        t = self.table
        query = (select(t.c.note_id, func.max(t.c.version))
                 .where(t.c.client_id == str(client_id), t.c.written_at <= moment)
                 .group_by(t.c.note_id))
        with self.log.engine.connect() as conn:
            return {UUID(note_id): int(version) for note_id, version in conn.execute(query)}

    def last_written(self, client_id: UUID) -> date | None:
        """The day the client's latest progress-note version was written."""
        self.catch_up()
        t = self.table
        with self.log.engine.connect() as conn:
            latest = conn.execute(select(func.max(t.c.written_at)).where(
                t.c.client_id == str(client_id))).scalar()
        return latest.date() if latest is not None else None

    def rows(self) -> list[tuple[Any, ...]]:
        with self.log.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(
                select(self.table).order_by(self.table.c.note_id, self.table.c.version))]
