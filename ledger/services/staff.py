"""Staff and their roles. Every privilege change is an event that names who made it
(ONC 170.315(d)(2), 170.210(e)(1))."""

from __future__ import annotations

from datetime import datetime

from ledger.aggregates.base import Actor, acting_as, utc
from ledger.aggregates.staff import StaffMember
from ledger.errors import BadInput
from ledger.rules import roles
from ledger.rules.roles import StaffView
from ledger.services.audited import Attempt
from ledger.stores.main import STAFF_EXIST, MainStore
from ledger.views import StaffInfo

BOOTSTRAP = Actor(id="bootstrap", role="system")


class Staff:
    def __init__(self, main: MainStore) -> None:
        self.main = main

    def add(self, staff_id: str, name: str, role: str, *, by: str | None,
            at: datetime) -> StaffInfo:
        """Add a staff member. The very first one may be added without ``by`` (bootstrap)."""
        at = utc(at)
        if by is None:
            if self.main.any_staff():  # checked again as it is saved (save_first_staff)
                raise BadInput(STAFF_EXIST)
            if self.view(staff_id) is not None:
                raise BadInput(f"staff {staff_id} already exists")
            with acting_as(BOOTSTRAP):
                member = StaffMember.add(staff_id, name, role, at)
                self.main.save_first_staff(member)
            return _info(member)
        with self._change(by, staff_id, at) as attempt:
            if self.view(staff_id) is not None:
                raise BadInput(f"staff {staff_id} already exists")
            member = StaffMember.add(staff_id, name, role, at)
            attempt.save(member)
        return _info(member)

    def set_role(self, staff_id: str, role: str, *, by: str, at: datetime) -> StaffInfo:
        with self._change(by, staff_id, at) as attempt:
            member = self.main.staff_member(staff_id)
            member.set_role(role, attempt.at)
            attempt.save(member)
        return _info(member)

    def deactivate(self, staff_id: str, *, by: str, at: datetime) -> StaffInfo:
        with self._change(by, staff_id, at) as attempt:
            member = self.main.staff_member(staff_id)
            member.deactivate(attempt.at)
            attempt.save(member)
        return _info(member)

    def list_staff(self) -> list[StaffInfo]:
        return sorted((_info(m) for m in self.main.staff_members()), key=lambda s: s.staff_id)

    def view(self, staff_id: str) -> StaffView | None:
        return self.main.staff_view(staff_id)

    def _change(self, by: str, staff_id: str, at: datetime) -> Attempt:
        attempt = Attempt(self.main, by, "amend", "staff", at=at,
                          object_id=StaffMember.id_for(staff_id))
        attempt.decide(roles.MANAGE_STAFF)
        return attempt


def _info(member: StaffMember) -> StaffInfo:
    return StaffInfo(member.staff_id, member.name, member.role, member.active)
