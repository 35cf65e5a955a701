"""The retention facts of one store: the dated facts the state rules need, one row per event.

Rows hold ids, codes, kinds and dates only: never note content, a name, a date of birth or
a client reference. Main store: a client registered (its state; the row's position finds
the sealed event that holds the date of birth), episodes opened and closed, contacts, each
note's dates and amendments, the versions of notes written before dates were recorded
apart ("legacy": from the audit entries, used only for a note with no dates row), legal
holds placed and released, preconditions met, destruction receipts. The sealed store: its
notes' dates, amendments, legacy versions and receipts.

A client's facts are sealed under the client's key: once the client was destroyed, a
replay of the log cannot read them, and the rows it makes say only what the event was
(see :class:`~ledger.projections.base.Shredded`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from eventsourcing.utils import get_topic
from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    exists,
    or_,
    select,
    type_coerce,
    update,
)

from ledger.aggregates.audit import AuditEntry
from ledger.aggregates.client import Client
from ledger.aggregates.destruction import Destruction
from ledger.aggregates.hold import Hold
from ledger.aggregates.precondition import PreconditionMet
from ledger.aggregates.record_dates import RecordDates
from ledger.persistence.log import EventLog
from ledger.projections.base import Projection, Shredded

# The kind of each row, by the event class that makes it.
KINDS: dict[type, str] = {
    Client.Registered: "registered", Client.EpisodeOpened: "episode-opened",
    Client.EpisodeClosed: "episode-closed", Client.ContactRecorded: "contact",
    RecordDates.Recorded: "note-dates", RecordDates.Amended: "amended",
    AuditEntry.Recorded: "legacy-version", Hold.Placed: "hold-placed",
    Hold.Released: "hold-released", PreconditionMet.Recorded: "precondition",
    Destruction.Recorded: "receipt"}
HOLD_KINDS = ("hold-placed", "hold-released")
_BY_TOPIC = {get_topic(cls): kind for cls, kind in KINDS.items()}
_CLIENT_TOPICS = frozenset(get_topic(cls) for cls in KINDS if cls.__qualname__.startswith(
    "Client."))
_CLIENT_KINDS = ("registered", "episode-opened", "episode-closed", "contact")
_DATES_KINDS = ("note-dates", "amended")
_SEALED_COLUMNS = ("item_id", "record_id", "version", "state", "code", "facility", "rule_id",
                   "day", "entered", "clients")
day_of = date.fromisoformat


class RetentionFactsProjection(Projection):
    """``retention-main`` or ``retention-pn``: ``note_kind`` is the object type of the
    store's notes in its audit entries."""

    reads = tuple(KINDS)
    # What a row of a shredded event can still say (the rest was sealed under the key).
    readable_when_shredded = ("position", "kind", "client_id")

    def __init__(self, log: EventLog, name: str, note_kind: str) -> None:
        self.name = name
        self.note_kind = note_kind
        super().__init__(log)

    def define(self, metadata: MetaData) -> list[Table]:
        name = f"{self.prefix}retention_facts"
        self._table = Table(
            name, metadata,
            Column("position", BigInteger, primary_key=True, autoincrement=False),
            Column("kind", String(20), nullable=False),
            Column("client_id", String(36)),
            Column("item_id", String(36)),  # a note, a hold
            Column("record_id", String(36)),  # a note's dates (RecordDates) aggregate
            Column("version", Integer),
            Column("state", String(8)),  # registration state, or an episode's state
            Column("code", String(40)),  # license, end kind, precondition kind
            Column("facility", String(40)),
            Column("rule_id", String(64)),
            Column("day", Date),  # start, end, contact, service, entry, done on, receipt
            Column("entered", Date),  # a note's first entry day
            Column("clients", Text),  # a hold's clients, comma-separated
            Index(f"{name}_client", "client_id"),
            Index(f"{name}_item", "item_id"),
        )
        return [self._table]

    @property
    def table(self) -> Table:
        return self._table

    def rows_for(self, position: int, event: Any) -> list[dict[str, Any]]:
        if isinstance(event, Shredded):  # a client's own events name it by their id
            kind = _BY_TOPIC.get(event.topic)
            client = event.originator_id if event.topic in _CLIENT_TOPICS else None
            return [_row(position, kind, client)] if kind else []
        if isinstance(event, AuditEntry.Recorded):
            if (event.object_type != self.note_kind or event.outcome != "granted"
                    or event.action not in ("originate", "amend") or not event.client_id):
                return []
            return [_row(position, "legacy-version", event.client_id, item_id=event.object_id,
                         version=event.version, day=event.timestamp.date())]
        return [self._fact(position, event)]

    def _fact(self, position: int, e: Any) -> dict[str, Any]:
        kind = KINDS[type(e)]
        if isinstance(e, Client.Registered):
            return _row(position, kind, e.originator_id, state=e.jurisdiction)
        if isinstance(e, Client.EpisodeOpened):
            return _row(position, kind, e.originator_id, state=e.jurisdiction, code=e.license,
                        facility=e.facility, day=day_of(e.start))
        if isinstance(e, Client.EpisodeClosed):
            return _row(position, kind, e.originator_id, code=e.end_kind, day=day_of(e.end))
        if isinstance(e, Client.ContactRecorded):
            return _row(position, kind, e.originator_id, day=day_of(e.on))
        if isinstance(e, RecordDates.Recorded):
            return _row(position, kind, e.client_id, item_id=e.note_id,
                        record_id=e.originator_id,
                        day=day_of(e.session_date) if e.session_date else None,
                        entered=day_of(e.entered_on))
        if isinstance(e, RecordDates.Amended):
            return _row(position, kind, e.client_id, record_id=e.originator_id,
                        day=day_of(e.entered_on))
        if isinstance(e, Hold.Placed):
            return _row(position, kind, item_id=e.originator_id,
                        clients=",".join(str(c) for c in e.client_ids))
        if isinstance(e, Hold.Released):
            return _row(position, kind, item_id=e.originator_id)
        if isinstance(e, PreconditionMet.Recorded):
            return _row(position, kind, e.client_id, code=e.kind, rule_id=e.rule_id,
                        day=day_of(e.done_on))
        assert isinstance(e, Destruction.Recorded)
        return _row(position, kind, e.client_id, rule_id=e.rule_id, day=e.timestamp.date())

    def forget(self, client_ids: list[str]) -> int:
        """Make the rows of destroyed clients' sealed facts say what a replay of their
        shredded events now says (their kind and, for the client's own events, its id):
        the dates go with the key. Idempotent; returns how many rows changed."""
        t = self.table
        changed = 0
        with self.log.engine.begin() as conn:
            for i in range(0, len(client_ids), 500):
                page = client_ids[i:i + 500]
                for kinds, keep_client in ((_CLIENT_KINDS, True), (_DATES_KINDS, False)):
                    changed += conn.execute(update(t).where(
                        t.c.client_id.in_(page), t.c.kind.in_(kinds),
                        or_(*(t.c[c].is_not(None) for c in _SEALED_COLUMNS))).values(
                        dict.fromkeys(_SEALED_COLUMNS) | (
                            {} if keep_client else {"client_id": None}))).rowcount or 0
        return changed

    def facts_rows(self, client_id: str | None = None) -> list[Any]:
        """Every row in log order (one query), or a client's with every hold's; the
        versions of a note with a dates row are left out (its dates say more)."""
        t = self.table
        dated = t.alias("dated")
        # Days as the database stores them (an ISO string on SQLite, a date on PostgreSQL):
        # :func:`day` reads either, several times faster than the Date type's own parser.
        columns = [type_coerce(c, String).label(c.name) if isinstance(c.type, Date) else c
                   for c in t.columns]
        query = select(*columns).where(or_(t.c.kind != "legacy-version", ~exists().where(
            dated.c.item_id == t.c.item_id, dated.c.kind == "note-dates"))
        ).order_by(t.c.position)
        if client_id is not None:
            query = query.where(or_(t.c.client_id == client_id, t.c.kind.in_(HOLD_KINDS)))
        with self.log.engine.connect() as conn:
            return list(conn.execute(query).all())

    def client_event_positions(self, client_id: str) -> list[int]:
        """Positions of the client's retention events, in log order: its preconditions
        and destruction receipts (by the client index), and the placing and release of
        every hold that names it (holds are few; their client lists are matched as text)."""
        t = self.table
        holds = select(t.c.item_id).where(t.c.kind == "hold-placed",
                                          t.c.clients.contains(client_id, autoescape=True))
        query = select(t.c.position).where(or_(
            and_(t.c.client_id == client_id, t.c.kind.in_(("precondition", "receipt"))),
            and_(t.c.kind.in_(HOLD_KINDS), t.c.item_id.in_(holds)))).order_by(t.c.position)
        with self.log.engine.connect() as conn:
            return [int(p) for p in conn.execute(query).scalars()]


def day(value: date | str) -> date:
    """A day of a row read by :meth:`RetentionFactsProjection.facts_rows`."""
    return value if isinstance(value, date) else date.fromisoformat(value)


def _row(position: int, kind: str | None, client_id: object = None, **values: Any
         ) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(
        ("client_id", "item_id", "record_id", "version", "state", "code", "facility",
         "rule_id", "day", "entered", "clients"))
    row |= {"position": position, "kind": kind,
            "client_id": str(client_id) if client_id is not None else None}
    row |= {k: str(v) if k in ("item_id", "record_id") and v is not None else v
            for k, v in values.items()}
    return row
