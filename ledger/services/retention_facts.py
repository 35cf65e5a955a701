"""Every client's retention facts, gathered two ways that must agree.

From the read models (:mod:`ledger.projections.retention_facts`): one query per store,
folded per client here, then each live client's registration read by position in one
batch for the date of birth and the reference (client identity, never a note): the plan.
No note is ever decrypted.

From the primary log: each client's aggregate, its progress notes' dates by their derived
ids, the sealed store's note dates by one scan of their (small) events, and the notes
written before dates were recorded apart from the notes themselves (in memory): what a
purge rests on ("derived data is a cache"), and ``retention plan --from-log``.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.persistence import MapperDeserialisationError
from eventsourcing.utils import get_topic

from ledger.aggregates.client import Client
from ledger.aggregates.destruction import Destruction
from ledger.aggregates.hold import Hold
from ledger.aggregates.precondition import PreconditionMet
from ledger.aggregates.psychotherapy_note import PsychotherapyNote
from ledger.aggregates.record_dates import RecordDates, record_dates_id
from ledger.errors import ContentDestroyed, IntegrityFailure, NotFound
from ledger.persistence.mapper import ContentShredded, sealed_key_id
from ledger.projections.retention_facts import day
from ledger.rules.retention_engine import Episode, Facts, Record
from ledger.stores.clinical import ClinicalStore
from ledger.stores.main import MainStore
from ledger.stores.psychotherapy import PsychotherapyStore
from ledger.views import HoldInfo

DISAGREES = ("the retention read model disagrees with the log; run ledger projections "
             "check")
# The client's own events, which its aggregate's rows in the read model must number.
CLIENT_KINDS = ("registered", "episode-opened", "episode-closed", "contact")
CLIENT_TOPICS = [get_topic(cls) for cls in (Client.Registered, Client.EpisodeOpened,
                                            Client.EpisodeClosed, Client.ContactRecorded)]
Met = tuple[str, str, date]  # (rule id, precondition kind, done on)
Held = dict[UUID, list[HoldInfo]]  # every hold that ever named the client, in order


@dataclass
class ClientFacts:
    """What the ledger knows of one client for the retention rules."""

    client_id: UUID
    ref: str | None = None  # the client reference, while the client's key exists
    facts: Facts | None = None  # None once destroyed
    met: list[Met] = field(default_factory=list)
    receipt: Destruction.Recorded | None = None  # the main store's
    pn_receipt: Destruction.Recorded | None = None


@dataclass(frozen=True)
class Gathered:
    clients: dict[UUID, ClientFacts]  # in the order they were registered
    holds: Held


def by_client(holds: Iterable[HoldInfo]) -> Held:
    """The holds indexed by the clients they name (looked up once per client)."""
    found: Held = defaultdict(list)
    for h in holds:
        for client_id in h.client_ids:
            found[client_id].append(h)
    return dict(found)


def hold_info(hold: Hold) -> HoldInfo:
    return HoldInfo(hold_id=hold.id, matter=hold.matter, client_ids=tuple(hold.client_ids),
                    reason=hold.reason, placed_by=hold.placed_by, placed_at=hold.placed_at,
                    released_at=hold.released_at, release_reason=hold.release_reason)


def facts(state: str, dob: date, episodes: Iterable[Episode], contacts: Iterable[date],
          records: Iterable[Record]) -> Facts:
    """Facts in one canonical order (episodes as they happened; contacts and records by
    day), so facts gathered both ways compare equal when they say the same."""
    return Facts(jurisdiction=state, dob=dob, episodes=tuple(episodes),
                 contacts=tuple(sorted(contacts)),
                 records=tuple(sorted(records, key=lambda r: (r.entered, r.service or date.min,
                                                              r.service is None))))


@contextmanager
def bulk() -> Iterator[None]:
    """The cyclic garbage collector paused: gathering a practice allocates hundreds of
    thousands of small objects that make no cycles, and the collector's full passes over a
    growing heap made the plan grow faster than the practice."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# ----- from the read models -------------------------------------------------------------------


@dataclass
class _Folded:
    """One client's rows, before its identity is read."""

    registered: int | None = None  # the position of Client.Registered
    state: str | None = None
    episodes: list[Episode] = field(default_factory=list)
    contacts: list[date] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    met: list[Met] = field(default_factory=list)
    receipt: int | None = None  # the position of the receipt, per store
    pn_receipt: int | None = None


class _Notes:
    """Note dates and legacy versions of one store's rows, folded to records per client."""

    def __init__(self) -> None:
        self.dates: dict[str, tuple[str, date | None, list[date]]] = {}  # by dates id
        self.dated: set[str] = set()  # note ids with dates
        self.legacy: dict[str, tuple[str, list[date]]] = {}  # note id: client, chain days

    def take(self, row: Any) -> bool:
        kind = row.kind
        if row.day is None and row.entered is None:  # its day went with its key
            return kind in ("note-dates", "amended", "legacy-version")
        if kind == "note-dates":
            self.dates[row.record_id] = (row.client_id, day(row.day) if row.day else None,
                                         [day(row.entered)])
            self.dated.add(row.item_id)
        elif kind == "amended":
            if row.record_id in self.dates:
                self.dates[row.record_id][2].append(day(row.day))
        elif kind == "legacy-version":
            self.legacy.setdefault(row.item_id, (row.client_id, []))[1].append(day(row.day))
        else:
            return False
        return True

    def records(self) -> dict[str, list[Record]]:
        found: dict[str, list[Record]] = defaultdict(list)
        for client, service, entries in self.dates.values():
            found[client].extend(Record(service, e) for e in entries)
        for note_id, (client, days) in self.legacy.items():
            if note_id not in self.dated:
                found[client].extend(Record(None, d) for d in days)
        return found


def from_read_models(main: MainStore, pn: PsychotherapyStore,
                     client_id: UUID | None = None) -> Gathered:
    """Every client's facts (or one client's) from the two read models, caught up first.

    The rows are a cache: a client whose own events (registration, episodes, contacts)
    number other than the log's, or a row that cannot be what the projection wrote (a day
    that is no day, a receipt or registration position holding another event), is an
    integrity failure naming the client, never a silent omission or a traceback."""
    for store in (main, pn):
        store.retention_projection.catch_up()
    upto = main.retention_projection.position()
    key = str(client_id) if client_id is not None else None
    try:
        gathered, counted = _gathered(main, pn, key)
    except (ValueError, NotFound) as e:
        raise IntegrityFailure(f"{DISAGREES} ({e})") from None
    logged = main.event_log.counts_by_originator(CLIENT_TOPICS, upto=upto,
                                                 originator_id=client_id)
    for client in sorted(set(logged) | set(counted), key=str):
        if logged.get(client, 0) != counted.get(client, 0):
            raise IntegrityFailure(f"client {client}: {DISAGREES}")
    return gathered


def _gathered(main: MainStore, pn: PsychotherapyStore, key: str | None
              ) -> tuple[Gathered, dict[UUID, int]]:
    folded: dict[str, _Folded] = {}
    counted: dict[UUID, int] = defaultdict(int)  # each client's own events, by its rows
    holds: list[str] = []
    notes = _Notes()
    for row in main.retention_projection.facts_rows(key):
        if row.kind == "hold-placed":
            holds.append(row.item_id)
            continue
        if row.client_id is None:  # a shredded event's row (its client was destroyed)
            continue
        if row.kind in CLIENT_KINDS:
            counted[UUID(row.client_id)] += 1
        if notes.take(row):
            continue
        c = folded.setdefault(row.client_id, _Folded())
        _fold(c, row)
    pn_notes = _Notes()
    for row in pn.retention_projection.facts_rows(key):
        if row.client_id is None or pn_notes.take(row) or row.client_id not in folded:
            continue
        if row.kind == "receipt":
            folded[row.client_id].pn_receipt = row.position
    for records in (notes.records(), pn_notes.records()):
        for client, found in records.items():
            if client in folded:
                folded[client].records.extend(found)
    return (Gathered(_identified(main, pn, folded),
                     by_client(hold_info(main.hold(UUID(h))) for h in holds)), counted)


def _fold(c: _Folded, row: Any) -> None:
    kind = row.kind
    if kind == "registered":
        c.registered, c.state = row.position, row.state
    elif row.day is None:  # a destroyed client's fact: its day went with its key
        return
    elif kind == "episode-opened":
        c.episodes.append(Episode(license=row.code, facility=row.facility, start=day(row.day),
                                  end=None, end_kind=None, jurisdiction=row.state))
    elif kind == "episode-closed" and c.episodes:
        last = c.episodes[-1]
        c.episodes[-1] = Episode(last.license, last.facility, last.start, day(row.day), row.code,
                                 last.jurisdiction)
    elif kind == "contact":
        c.contacts.append(day(row.day))
    elif kind == "precondition":
        c.met.append((row.rule_id, row.code, day(row.day)))
    elif kind == "receipt":
        c.receipt = row.position


def _identified(main: MainStore, pn: PsychotherapyStore, folded: dict[str, _Folded]
                ) -> dict[UUID, ClientFacts]:
    """Each client's identity (reference and date of birth) from its registration, read by
    position in one batch; receipts likewise, from their own store."""
    positions = sorted(c.registered for c in folded.values() if c.registered is not None)
    registrations = {n.id: n for n in main.event_log.notifications_at(positions)}
    main.keyring.preload(k for k in (sealed_key_id(n.state) for n in registrations.values())
                         if k is not None)
    receipts = _events(main, [c.receipt for c in folded.values() if c.receipt])
    pn_receipts = _events(pn, [c.pn_receipt for c in folded.values() if c.pn_receipt])
    found: dict[UUID, ClientFacts] = {}
    for client, c in sorted(folded.items(), key=lambda i: i[1].registered or 0):
        if c.registered is None:
            continue  # facts of a client never registered here: none are planned
        client_id = UUID(client)
        for receipt in (receipts.get(c.receipt) if c.receipt else None,
                        pn_receipts.get(c.pn_receipt) if c.pn_receipt else None):
            if receipt is not None and (not isinstance(receipt, Destruction.Recorded)
                                        or receipt.client_id != client_id):
                raise IntegrityFailure(f"client {client_id}: {DISAGREES}")
        if (c.receipt and c.receipt not in receipts) or (
                c.pn_receipt and c.pn_receipt not in pn_receipts):
            raise IntegrityFailure(f"client {client_id}: {DISAGREES}")
        out = ClientFacts(client_id, met=c.met,
                          receipt=receipts.get(c.receipt) if c.receipt else None,
                          pn_receipt=pn_receipts.get(c.pn_receipt) if c.pn_receipt else None)
        try:
            registered = main.event_log.decode(registrations[c.registered])
        except ContentShredded:
            registered = None
        except (KeyError, MapperDeserialisationError):
            raise IntegrityFailure(f"client {client_id}: {DISAGREES}") from None
        if registered is not None and (not isinstance(registered, Client.Registered)
                                       or registered.originator_id != client_id):
            raise IntegrityFailure(f"client {client_id}: {DISAGREES}")
        if registered is None and out.receipt is None:
            raise IntegrityFailure(f"client {client_id}: its key is gone but no destruction "
                                   "receipt exists; run ledger verify")
        if registered is not None:
            out.ref = registered.client_ref
            if out.receipt is None:
                out.facts = facts(c.state or registered.jurisdiction,
                                  date.fromisoformat(registered.dob), c.episodes, c.contacts,
                                  c.records)
        found[client_id] = out
    return found


def _events(store: ClinicalStore, positions: list[int]) -> dict[int, Any]:
    """Audit events (never shredded) at these positions; one that cannot be read is left
    out (the caller finds it missing)."""
    found = {}
    for n in store.event_log.notifications_at(positions):
        try:
            found[n.id] = store.event_log.decode(n)
        except MapperDeserialisationError:
            continue
    return found


# ----- from the primary log -------------------------------------------------------------------


class FromLog:
    """Facts read from the primary log. The sealed store's note dates, receipts, holds and
    preconditions are read once (one scan of their topics); each client is then read on
    its own."""

    def __init__(self, main: MainStore, pn: PsychotherapyStore) -> None:
        self.main = main
        self.pn = pn
        self.receipts = _receipts(main)
        self.pn_receipts = _receipts(pn)
        self.holds = by_client(hold_info(main.hold(i)) for i in main.event_log.originators(
            get_topic(Hold.Placed)))
        self.met: dict[UUID, list[Met]] = defaultdict(list)
        for n in main.event_log.scan([get_topic(PreconditionMet.Recorded)], page=1000):
            e = main.event_log.decode(n)
            assert isinstance(e, PreconditionMet.Recorded)
            self.met[e.client_id].append((e.rule_id, e.kind, date.fromisoformat(e.done_on)))
        self.pn_records = _pn_records(pn)

    def gathered(self, client_ids: Iterable[UUID] | None = None) -> Gathered:
        ids = self.main.client_ids() if client_ids is None else client_ids
        return Gathered({i: self.client(i) for i in ids}, self.holds)

    def client(self, client_id: UUID) -> ClientFacts:
        out = ClientFacts(client_id, met=list(self.met.get(client_id, [])),
                          receipt=self.receipts.get(client_id),
                          pn_receipt=self.pn_receipts.get(client_id))
        try:
            client = self.main.get(Client, client_id, "client")
        except ContentDestroyed:
            if out.receipt is None:
                raise IntegrityFailure(f"client {client_id}: its key is gone but no "
                                       "destruction receipt exists; run ledger verify"
                                       ) from None
            return out
        out.ref = client.client_ref
        if out.receipt is not None:
            return out
        records = [*self.pn_records.get(client_id, [])]
        for note_id in client.note_ids:
            records.extend(_progress_records(self.main, note_id))
        out.facts = facts(
            client.jurisdiction, date.fromisoformat(client.dob),
            (Episode(license=str(e["license"]), facility=e["facility"],
                     start=date.fromisoformat(str(e["start"])),
                     end=date.fromisoformat(e["end"]) if e["end"] else None,
                     end_kind=e["end_kind"], jurisdiction=e.get("jurisdiction"))
             for e in client.episodes),
            (date.fromisoformat(c) for c in client.contacts), records)
        return out


def _receipts(store: ClinicalStore) -> dict[UUID, Destruction.Recorded]:
    found: dict[UUID, Destruction.Recorded] = {}
    for n in store.event_log.scan([get_topic(Destruction.Recorded)], page=1000):
        e = store.event_log.decode(n)
        assert isinstance(e, Destruction.Recorded)
        found.setdefault(e.client_id, e)
    return found


def _progress_records(main: MainStore, note_id: UUID) -> list[Record]:
    """A progress note's records: from its dates, or (a note written before dates were
    recorded apart) from the note's own versions."""
    try:
        dates = main.get(RecordDates, record_dates_id(note_id), "note dates")
    except NotFound:
        note = main.note(note_id)
        return [Record(None, v.written_at.date()) for v in note.versions]
    return [Record(dates.session_date, e) for e in dates.entries]


def _pn_records(pn: PsychotherapyStore) -> dict[UUID, list[Record]]:
    """Every live client's psychotherapy-note records: one scan of the dates' events, then
    the notes that have none, read from the notes themselves."""
    dates: dict[UUID, tuple[UUID, date | None, list[date]]] = {}
    topics = [get_topic(RecordDates.Recorded), get_topic(RecordDates.Amended)]
    for n in pn.event_log.scan(topics, page=1000):
        try:
            e = pn.event_log.decode(n)
        except ContentShredded:
            continue  # a destroyed client's
        if isinstance(e, RecordDates.Recorded):
            dates[e.originator_id] = (e.client_id, date.fromisoformat(e.session_date)
                                      if e.session_date else None,
                                      [date.fromisoformat(e.entered_on)])
        elif isinstance(e, RecordDates.Amended) and e.originator_id in dates:
            dates[e.originator_id][2].append(date.fromisoformat(e.entered_on))
    found: dict[UUID, list[Record]] = defaultdict(list)
    for client, service, entries in dates.values():
        found[client].extend(Record(service, d) for d in entries)
    for note_id in pn.event_log.originators(get_topic(PsychotherapyNote.Written)):
        if record_dates_id(note_id) in dates:
            continue
        try:
            note = pn.note(note_id)
        except ContentDestroyed:
            continue
        found[note.client_id].extend(Record(None, v.written_at.date()) for v in note.versions)
    return found
