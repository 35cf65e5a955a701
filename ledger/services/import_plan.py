"""What an import would add to the ledger, client by client, and what it would skip as
already recorded: the checks that depend on the ledger, made before anything is written.

Read only. Notes are named by ids derived from the client and the note's source id, so a
note imported before (by an import that was killed, say) is found without decrypting it.
A client already recorded with the same facts is skipped, with other facts it is a line
error; an episode or contact already recorded is skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from uuid import UUID

from ledger.aggregates.base import named_id
from ledger.aggregates.client import Client
from ledger.errors import ContentDestroyed
from ledger.rules.import_file import (
    PSYCHOTHERAPY_NOTE,
    ClientHistory,
    Episode,
    Note,
    Problems,
)
from ledger.rules.roles import StaffView
from ledger.stores.main import MainStore
from ledger.stores.store import Store

OPEN, CLOSE, OPEN_CLOSED = "open", "close", "open-closed"


def imported_note_id(client_id: UUID, source_id: str) -> UUID:
    """The id of the note the earlier system named ``source_id`` for this client (either
    kind: a source id names one note per client). Fixed forever: re-imports depend on it."""
    return named_id("imported-note", f"{client_id}:{source_id}")


@dataclass
class Plan:
    history: ClientHistory
    client_id: UUID
    client: Client | None  # as recorded, when it is
    episodes: list[tuple[Episode, str]] = field(default_factory=list)  # OPEN, CLOSE, ...
    contacts: list[date] = field(default_factory=list)
    notes: list[tuple[Note, UUID]] = field(default_factory=list)
    skipped_episodes: int = 0
    skipped_contacts: int = 0
    skipped_notes: dict[str, int] = field(default_factory=dict)

    @property
    def register(self) -> bool:
        return self.client is None

    @property
    def changes_client(self) -> bool:
        return bool(self.register or self.episodes or self.contacts
                     or any(n.kind != PSYCHOTHERAPY_NOTE for n, _ in self.notes))


@dataclass
class Known:
    """What the ledger holds of the file's clients and notes, read in bulk."""

    clients: set[UUID]
    main_notes: set[UUID]
    sealed_notes: set[UUID]
    staff: dict[str, StaffView | None]


def look_up(main: MainStore, sealed: Callable[[], Store], ids: dict[str, UUID],
            histories: list[ClientHistory]) -> Known:
    """Which of the file's clients and notes the stores hold, and who its authors are.
    The sealed store is asked only about notes, and only when the file has any."""
    note_ids = [imported_note_id(ids[h.client_ref], n.source_id)
                for h in histories for n in h.notes]
    authors = {n.author_id for h in histories for n in h.notes}
    return Known(
        clients=main.event_log.stored_originators(ids[h.client_ref] for h in histories),
        main_notes=main.event_log.stored_originators(note_ids) if note_ids else set(),
        sealed_notes=(sealed().event_log.stored_originators(note_ids) if note_ids
                      else set()),
        staff={a: main.staff_view(a) for a in sorted(authors)})


def plan(main: MainStore, history: ClientHistory, client_id: UUID, known: Known,
         problems: Problems) -> Plan | None:
    """The client's plan, or None with its bad lines added to ``problems``."""
    before = problems.count
    client = None
    if client_id in known.clients:
        try:
            client = main.get(Client, client_id, "client")
        except ContentDestroyed:
            problems.add(f"line {history.line}: the client was destroyed under the retention "
                         "schedule; it cannot be imported again")
            return None
        _same_client(history, client, problems)
    result = Plan(history=history, client_id=client_id, client=client)
    _episodes(result, problems)
    recorded = set(client.contacts) if client else set()
    for _, day in history.contacts:
        if day.isoformat() in recorded:
            result.skipped_contacts += 1
        else:
            recorded.add(day.isoformat())
            result.contacts.append(day)
    for note in history.notes:
        _note(result, note, known, problems)
    return result if problems.count == before else None


def _same_client(history: ClientHistory, client: Client, problems: Problems) -> None:
    differing = [name for name, same in (
        ("name", client.name == history.name),
        ("birth_date", client.dob == history.birth_date.isoformat()),
        ("state", client.jurisdiction == history.state)) if not same]
    if differing:
        problems.add(f"line {history.line}: {' and '.join(differing)} differ"
                     f"{'s' if len(differing) == 1 else ''} from the client already recorded")


def _episodes(result: Plan, problems: Problems) -> None:
    client = result.client
    recorded = {}
    open_now = False
    if client is not None:
        for e in client.episodes:
            key = (e.get("jurisdiction") or client.jurisdiction, e["license"], e["facility"],
                   e["start"])
            recorded[key] = (e["end"], e["end_kind"])
        open_now = bool(client.episodes) and client.episodes[-1]["end"] is None
    for episode in result.history.episodes:
        end = (episode.end.isoformat() if episode.end else None, episode.end_kind)
        if episode.key in recorded:
            was = recorded[episode.key]
            if was == end:
                result.skipped_episodes += 1
            elif was == (None, None) and open_now:
                result.episodes.append((episode, CLOSE))
                open_now = False
            else:
                problems.add(f"line {episode.line}: the episode is recorded with another end "
                             "(an import never changes a recorded end)")
            continue
        if open_now:
            problems.add(f"line {episode.line}: the client has an episode of care open in the "
                         "ledger; close it first (ledger client episode close)")
            continue
        result.episodes.append((episode, OPEN_CLOSED if episode.end else OPEN))
        open_now = episode.end is None


def _note(result: Plan, note: Note, known: Known, problems: Problems) -> None:
    if known.staff.get(note.author_id) is None:
        problems.add(f"line {note.line}: author_id names no staff member (add former staff "
                     "with ledger staff add, then deactivate them)")
        return
    note_id = imported_note_id(result.client_id, note.source_id)
    sealed = note.kind == PSYCHOTHERAPY_NOTE
    own, other = ((known.sealed_notes, known.main_notes) if sealed
                  else (known.main_notes, known.sealed_notes))
    if note_id in other:
        problems.add(f"line {note.line}: source_id was imported before as a note of the "
                     "other kind")
    elif note_id in own:
        result.skipped_notes[note.kind] = result.skipped_notes.get(note.kind, 0) + 1
    else:
        result.notes.append((note, note_id))
