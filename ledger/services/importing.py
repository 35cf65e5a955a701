"""``ledger import``: a practice's history from an earlier system (docs/import.md).

One audited attempt by the importer (the roles table: ``history.import``; a refusal is
recorded). The whole file is checked before anything is written: first what it says
(``ledger.rules.import_file``), then what depends on the ledger
(``ledger.services.import_plan``); one bad line and nothing is written. Then each client is
written in its own transactions: the main store's (the client, its episodes, contacts,
progress notes and their dates, and a granted entry for each) and, after it, the sealed
store's (its psychotherapy notes, their dates and entries). Nothing of a psychotherapy
note reaches the main store. Every event carries the importer as actor; a note keeps its
original author and the day it was written, apart from the chain time at which the ledger
learned it. Ids are derived from the client and the note's source id, so a rerun (after a
kill, or of the same file) adds only what is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ledger.aggregates.client import Client
from ledger.aggregates.progress_note import ProgressNote
from ledger.aggregates.psychotherapy_note import PsychotherapyNote
from ledger.aggregates.record_dates import RecordDates
from ledger.errors import BadInput, LedgerError
from ledger.keys.pseudonyms import ClientIds
from ledger.rules import roles
from ledger.rules.import_file import (
    PSYCHOTHERAPY_NOTE,
    ClientHistory,
    ImportRejected,
    Problems,
    parse,
)
from ledger.services.audited import Attempt, Done, retry_on_conflict
from ledger.services.import_plan import CLOSE, OPEN, Plan, look_up, plan
from ledger.stores.main import MainStore
from ledger.views import ImportCounts, ImportResult

if TYPE_CHECKING:
    from ledger.stores.psychotherapy import PsychotherapyStore

PROGRESS = "progress-note"


@dataclass
class _Tally:
    clients: int = 0
    episodes: int = 0
    contacts: int = 0
    progress_notes: int = 0
    psychotherapy_notes: int = 0

    def counts(self) -> ImportCounts:
        return ImportCounts(self.clients, self.episodes, self.contacts, self.progress_notes,
                            self.psychotherapy_notes)

    def main_text(self) -> str:
        return (f"{self.clients} clients, {self.episodes} episodes, {self.contacts} contacts, "
                f"{self.progress_notes} progress notes")


class ImportStopped(BadInput):
    """The import stopped part-way: some clients were written, and are kept."""


class HistoryImport:
    def __init__(self, main: MainStore, sealed: Callable[[], PsychotherapyStore],
                 client_id: ClientIds) -> None:
        self.main = main
        self._sealed = sealed
        self.client_id = client_id

    def run(self, lines: Iterable[bytes], *, by: str, at: datetime, dry_run: bool = False,
            clients_per_commit: int = 1) -> ImportResult:
        """Import the history file's ``lines`` (bytes, as read). ``ImportRejected`` names
        the bad lines, with nothing written; ``Refused`` (recorded) if ``by`` may not."""
        with Attempt(self.main, by, "import", "history", at=at) as use:
            use.decide(roles.IMPORT_HISTORY)
            histories = parse(lines, today=use.at.date())
            plans = self._plans(histories)
            added, skipped = _Tally(), _Tally()
            for p in plans:
                _count(p, added, skipped)
            sealed_lines = added.psychotherapy_notes + skipped.psychotherapy_notes
            if not dry_run:
                self._write_all(plans, use, max(1, clients_per_commit))
            verb = ("dry run: would add " if dry_run else "added ")
            skip = "would skip" if dry_run else "skipped"
            use.commit(reason=f"{verb}{added.main_text()}; {skip} as recorded "
                              f"{skipped.main_text()}")
            if sealed_lines:
                self._record_sealed(by, use.at, f"{verb}{added.psychotherapy_notes} "
                                    f"psychotherapy notes; {skip} as recorded "
                                    f"{skipped.psychotherapy_notes} psychotherapy notes")
        return ImportResult(dry_run=dry_run, added=added.counts(), skipped=skipped.counts())

    def _write_all(self, plans: list[Plan], use: Attempt, size: int) -> None:
        """Every group in turn. A group refused after others were written (a concurrent
        change to one of its clients) stops the import: what was written stays, the
        attempt is recorded as stopped, and the error says so (never "nothing was
        imported"); a rerun adds the rest."""
        written = 0
        for i in range(0, len(plans), size):
            try:
                self._write(plans[i:i + size], use)
            except LedgerError as e:
                if written == 0:
                    raise
                why = "; ".join(e.problems) if isinstance(e, ImportRejected) else str(e)
                stopped = f"stopped after {written} of {len(plans)} clients were written"
                use.commit(reason=stopped)
                raise ImportStopped(f"{stopped} ({why}); what was written is kept: run the "
                                    "import again to add the rest") from None
            written += len(plans[i:i + size])

    def _plans(self, histories: list[ClientHistory]) -> list[Plan]:
        ids = {h.client_ref: self.client_id(h.client_ref) for h in histories}
        known = look_up(self.main, self._sealed, ids, histories)
        problems = Problems()
        plans = [plan(self.main, h, ids[h.client_ref], known, problems) for h in histories]
        problems.raise_any()
        return [p for p in plans if p is not None]

    def _write(self, group: list[Plan], use: Attempt) -> None:
        """The group's main-store records in one transaction, then its psychotherapy notes
        in one transaction of the sealed store. A concurrent writer that saved one of them
        first (another run of the same file, a change to one of its clients) makes the
        group be read and planned again."""
        plans = self._committed(group, use, _main_records)
        if any(n.kind == PSYCHOTHERAPY_NOTE for p in plans for n, _ in p.notes):
            with Attempt(self._sealed(), use.by, "import", "history", at=use.at) as pn_use:
                self._committed(plans, pn_use, _sealed_records)

    def _committed(self, group: list[Plan], use: Attempt,
                   records: Callable[[Plan, datetime], list[Done]]) -> list[Plan]:
        first = [True]

        def attempt() -> list[Plan]:
            plans = group if first[0] else self._plans([p.history for p in group])
            first[0] = False
            done = [d for p in plans for d in records(p, use.at)]
            if done:
                # New clients' data keys in one transaction, not one each on first use.
                use.store.ensure_client_keys({d.client_id for d in done}, use.at)
                use.commit_each(done)
            return plans

        return retry_on_conflict(attempt)

    def _record_sealed(self, by: str, at: datetime, reason: str) -> None:
        with Attempt(self._sealed(), by, "import", "history", at=at) as pn_use:
            pn_use.decide(roles.IMPORT_HISTORY)
            pn_use.commit(reason=reason)


def _count(p: Plan, added: _Tally, skipped: _Tally) -> None:
    added.clients += p.register
    skipped.clients += not p.register
    added.episodes += sum(1 for _, how in p.episodes if how != CLOSE)
    skipped.episodes += p.skipped_episodes
    added.contacts += len(p.contacts)
    skipped.contacts += p.skipped_contacts
    for note, _ in p.notes:
        if note.kind == PSYCHOTHERAPY_NOTE:
            added.psychotherapy_notes += 1
        else:
            added.progress_notes += 1
    skipped.progress_notes += p.skipped_notes.get(PROGRESS, 0)
    skipped.psychotherapy_notes += p.skipped_notes.get(PSYCHOTHERAPY_NOTE, 0)


def _main_records(p: Plan, at: datetime) -> list[Done]:
    """The client's records in the main store, each with its granted entry."""
    h = p.history
    if not p.changes_client:
        return []
    client = p.client or Client.register(p.client_id, h.client_ref, h.name, h.birth_date,
                                         h.state, at)
    done = []
    if p.register:
        done.append(Done("register", "client", p.client_id, p.client_id, (client,),
                         reason="imported"))
    for episode, how in p.episodes:
        if how != CLOSE:
            client.open_episode(episode.license, episode.facility, episode.start, at,
                                episode.state)
        if how != OPEN and episode.end is not None and episode.end_kind is not None:
            client.close_episode(episode.end, episode.end_kind, at)
    for day in p.contacts:
        client.record_contact(day, at)
    if p.episodes or p.contacts:
        done.append(Done("amend", "client-facts", p.client_id, p.client_id, (client,),
                         reason=f"imported: {len(p.episodes)} episodes, "
                                f"{len(p.contacts)} contacts"))
    for note, note_id in p.notes:
        if note.kind == PSYCHOTHERAPY_NOTE:
            continue
        written = ProgressNote.write(p.client_id, note.text, note.session_date, at, note_id,
                                     author_id=note.author_id, written_on=note.written_on)
        client.attach_note(note_id, at)
        dates = RecordDates.record(client_id=p.client_id, note_id=note_id,
                                   session_date=note.session_date,
                                   entered_on=note.written_on, at=at)
        done.append(Done("originate", PROGRESS, note_id, p.client_id,
                         (written, dates, client), version=1,
                         reason=f"imported; written by {note.author_id}"))
    return done


def _sealed_records(p: Plan, at: datetime) -> list[Done]:
    """The client's psychotherapy notes, for the sealed store only."""
    done = []
    for note, note_id in p.notes:
        if note.kind != PSYCHOTHERAPY_NOTE:
            continue
        written = PsychotherapyNote.write(p.client_id, note.text, note.session_date, at,
                                          note_id, author_id=note.author_id,
                                          written_on=note.written_on)
        dates = RecordDates.record(client_id=p.client_id, note_id=note_id,
                                   session_date=note.session_date,
                                   entered_on=note.written_on, at=at)
        done.append(Done("originate", PSYCHOTHERAPY_NOTE, note_id, p.client_id,
                         (written, dates), version=1,
                         reason=f"imported; written by {note.author_id}"))
    return done
