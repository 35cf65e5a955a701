"""Staff members and their roles. Every privilege change is an event (ONC 170.315(d)(2),
170.210(e)(1): changes to user privileges must be logged)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.aggregates.base import LedgerEvent, named_id
from ledger.errors import BadInput
from ledger.identifiers import check_staff_id
from ledger.vocabulary import check_role


class StaffMember(Aggregate):
    class_version = 1

    class Added(Aggregate.Created, LedgerEvent):
        staff_id: str
        name: str
        role: str

    class RoleChanged(LedgerEvent):
        old_role: str
        new_role: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, StaffMember)
            aggregate.role = self.new_role

    class Deactivated(LedgerEvent):
        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, StaffMember)
            aggregate.active = False

    def __init__(self, staff_id: str, name: str, role: str) -> None:
        self.staff_id = staff_id
        self.name = name
        self.role = role
        self.active = True

    @staticmethod
    def id_for(staff_id: str) -> UUID:
        return named_id("staff", check_staff_id(staff_id))

    @classmethod
    def add(cls, staff_id: str, name: str, role: str, at: datetime) -> StaffMember:
        if not staff_id.strip() or not name.strip():
            raise BadInput("staff id and name must not be empty")
        return cls._create(cls.Added, id=cls.id_for(staff_id), staff_id=staff_id, name=name,
                           role=check_role(role), timestamp=at)

    def set_role(self, role: str, at: datetime) -> None:
        self._require_active()
        if check_role(role) == self.role:
            raise BadInput(f"staff {self.staff_id} already has role {role}")
        self.trigger_event(self.RoleChanged, old_role=self.role, new_role=role, timestamp=at)

    def deactivate(self, at: datetime) -> None:
        self._require_active()
        self.trigger_event(self.Deactivated, timestamp=at)

    def _require_active(self) -> None:
        if not self.active:
            raise BadInput(f"staff {self.staff_id} is deactivated")
