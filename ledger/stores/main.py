"""The main store: staff, clients and their retention facts, progress notes, legal holds,
destruction preconditions, and every access and disclosure event concerning them.

It never holds anything of a psychotherapy note, and cannot import the sealed store.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING
from uuid import UUID

from eventsourcing.utils import get_topic

from ledger.aggregates.client import Client
from ledger.aggregates.hold import Hold
from ledger.aggregates.progress_note import ProgressNote
from ledger.aggregates.staff import StaffMember
from ledger.errors import BadInput, NotFound
from ledger.rules.roles import StaffView
from ledger.stores.clinical import ClinicalStore

if TYPE_CHECKING:  # loaded when first needed (start-up time)
    from ledger.projections.record_set import NoteVersionsProjection


STAFF_EXIST = "staff already exist: add staff --as an admin"


class MainStore(ClinicalStore):
    name = "Ledger"  # table prefix "ledger_" (fixed: it names every stored table)
    NOTE_KIND = "progress-note"
    RETENTION_MODEL = "retention-main"

    # ----- staff ---------------------------------------------------------------------------

    def staff_member(self, staff_id: str) -> StaffMember:
        return self.get(StaffMember, StaffMember.id_for(staff_id), f"staff {staff_id}")

    def staff_view(self, staff_id: str) -> StaffView | None:
        try:
            member = self.staff_member(staff_id)
        except NotFound:
            return None
        return StaffView(member.staff_id, member.role, member.active)

    def any_staff(self) -> bool:
        topic = get_topic(StaffMember.Added)
        return bool(self.event_log.notifications(1, 1, [topic]))

    def save_first_staff(self, member: StaffMember) -> None:
        """Save the very first staff member, if no staff exist: checked in the write
        transaction that saves it, so of bootstraps racing on an empty store exactly one
        commits and the others are refused with nothing saved."""
        refusal = BadInput(STAFF_EXIST)
        self.save(member, check=self.event_log.none_stored([get_topic(StaffMember.Added)],
                                                           refusal))

    def staff_members(self) -> list[StaffMember]:
        return [self.get(StaffMember, i, "staff")
                for i in self.event_log.originators(get_topic(StaffMember.Added))]

    # ----- clients -------------------------------------------------------------------------

    def client(self, client_id: UUID, client_ref: str) -> Client:
        """The client ``client_id`` (the pseudonym of ``client_ref``, which names it in
        errors)."""
        return self.get(Client, client_id, f"client {client_ref}")

    def client_exists(self, client_id: UUID) -> bool:
        """Whether the client was ever registered (read from the log, without decrypting:
        true after a purge too, so audit records stay answerable)."""
        return self.event_log.first_topic(client_id) == get_topic(Client.Registered)

    def client_ids(self) -> list[UUID]:
        return list(self.event_log.originators(get_topic(Client.Registered)))

    # ----- progress notes and the record set ------------------------------------------------

    def note(self, note_id: UUID) -> ProgressNote:
        return self.get(ProgressNote, note_id, f"note {note_id}")

    @cached_property
    def record_set_projection(self) -> NoteVersionsProjection:
        from ledger.projections.record_set import NoteVersionsProjection  # noqa: PLC0415

        return NoteVersionsProjection(self.event_log)

    # ----- legal holds and destruction preconditions ----------------------------------------

    def holds(self) -> list[Hold]:
        return [self.get(Hold, i, "hold") for i in self.event_log.originators(
            get_topic(Hold.Placed))]

    def hold(self, hold_id: UUID) -> Hold:
        return self.get(Hold, hold_id, f"hold {hold_id}")
