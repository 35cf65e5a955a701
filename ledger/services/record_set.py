"""The designated record set (as of any moment) and the right-of-access export (164.524).

Never a psychotherapy note: this module works on the main store only and cannot reach the
sealed one (a test walks the import graph). Reading it is an access event.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from ledger.aggregates.base import utc
from ledger.errors import BadInput, NotFound
from ledger.keys.pseudonyms import ClientIds
from ledger.rules import roles
from ledger.services.audited import Attempt
from ledger.services.release import note_content
from ledger.stores.main import MainStore
from ledger.views import AccessRequestExport, RecordSet, RecordSetNote, VersionInfo
from ledger.vocabulary import check_purpose

ACCESS_DAYS = 30  # 164.524(b)(2): act within 30 days; one extension of at most 30 more


class RecordSets:
    def __init__(self, main: MainStore, client_id: ClientIds) -> None:
        self.main = main
        self.client_id = client_id

    def record_set(self, client_ref: str, *, by: str, purpose: str, at: datetime,
                   as_of: datetime | None = None) -> RecordSet:
        """The client's designated record set as it stood at ``as_of`` (default: now):
        each progress note's then-current version with its amendment history."""
        check_purpose(purpose)
        with Attempt(self.main, by, "access", "record-set", at=at, purpose=purpose,
                     client_id=self.client_id(client_ref)) as use:
            use.decide(roles.READ_NOTE)
            record_set = use.load(lambda: self._record_set(client_ref, use.at, as_of))
            use.commit(reason=f"as of {record_set.as_of.isoformat()}")
        return record_set

    def export_access_request(self, client_ref: str, *, by: str, received: date,
                              at: datetime) -> AccessRequestExport:
        """The record set for a right-of-access request received on ``received``, with its
        30-day deadline (164.524(b)(2)). Recorded as an export for purpose PATRQT."""
        with Attempt(self.main, by, "export", "record-set", at=at, purpose="PATRQT",
                     client_id=self.client_id(client_ref)) as use:
            if received > use.at.date():
                raise BadInput("the request's received date is in the future")
            use.decide(roles.HANDLE_ACCESS_REQUEST)
            record_set = self._record_set(client_ref, use.at, None)
            due = received + timedelta(days=ACCESS_DAYS)
            use.commit(reason=f"right-of-access request received {received.isoformat()}, "
                              f"due {due.isoformat()}")
        return AccessRequestExport(record_set=record_set, received_on=received, due_on=due,
                                   latest_extended_due_on=due + timedelta(days=ACCESS_DAYS))

    def _record_set(self, client_ref: str, at: datetime, as_of: datetime | None) -> RecordSet:
        moment = utc(as_of) if as_of is not None else at
        if moment > at:
            raise BadInput("--as-of is in the future")
        client_id = self.client_id(client_ref)
        if not self.main.client_exists(client_id):
            raise NotFound(f"client {client_ref} not found")
        if self.main.is_shredded(client_id):
            return RecordSet(client_id=client_id, as_of=moment, notes=(),
                             destroyed=self.main.tombstone(client_id) or "destroyed")
        projection = self.main.record_set_projection
        projection.catch_up()
        notes = []
        for note_id, number in projection.as_of(client_id, moment).items():
            note = self.main.note(note_id)
            history = tuple(VersionInfo(v.number, v.author_id, v.written_at, v.reason)
                            for v in note.versions[:number])
            notes.append(RecordSetNote(note_id=note.id, session_date=note.session_date,
                                       current=note_content(note, number), history=history))
        notes.sort(key=lambda n: (n.history[0].written_at, str(n.note_id)))
        return RecordSet(client_id=client_id, as_of=moment, notes=tuple(notes))
