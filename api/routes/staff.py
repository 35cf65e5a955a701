"""``/v1/staff``: staff members and their roles (``ledger staff``), and the roles table."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path

from api.caller import CallerDep
from api.fields import STAFF_PATTERN, Body, Role, StaffId, Text
from api.problems import responses
from ledger.identifiers import MAX_ID
from ledger.views import StaffInfo

router = APIRouter(prefix="/v1", tags=["staff"])
StaffPath = Path(pattern=STAFF_PATTERN, max_length=MAX_ID,
                 description="A staff id (never a client's)")


class StaffAdd(Body):
    id: StaffId
    name: Text
    role: Role


class RoleChange(Body):
    role: Role


@router.post("/staff", status_code=201, response_model=StaffInfo,
             responses=responses(403))
def add_staff(body: StaffAdd, caller: CallerDep) -> StaffInfo:
    """Add a staff member (an admin's act; `ledger staff add`)."""
    with caller.acting():
        return caller.ledger.staff.add(body.id, body.name, body.role, by=caller.by,
                                       at=caller.at)


@router.put("/staff/{staff_id}/role", response_model=StaffInfo,
            responses=responses(403, 404))
def set_role(body: RoleChange, caller: CallerDep,
             staff_id: str = StaffPath) -> StaffInfo:
    """Change a staff member's role (`ledger staff set-role`)."""
    with caller.acting():
        return caller.ledger.staff.set_role(staff_id, body.role, by=caller.by, at=caller.at)


@router.post("/staff/{staff_id}/deactivate", response_model=StaffInfo,
             responses=responses(403, 404))
def deactivate(caller: CallerDep, staff_id: str = StaffPath) -> StaffInfo:
    """Deactivate a staff member: they keep their history and lose all access
    (`ledger staff deactivate`)."""
    with caller.acting():
        return caller.ledger.staff.deactivate(staff_id, by=caller.by, at=caller.at)


@router.get("/staff", response_model=list[StaffInfo], responses=responses())
def list_staff(caller: CallerDep) -> list[StaffInfo]:
    """Staff members and their current roles, for any authenticated staff member
    (`ledger staff list`)."""
    with caller.acting():
        return caller.ledger.staff.list_staff()


@router.get("/roles", responses=responses())
def roles_in_force(caller: CallerDep) -> dict[str, Any]:
    """The access rules in force (`ledger roles --json`)."""
    from ledger.rules import roles as table  # noqa: PLC0415

    return {
        "rules": [{"action": r.action, "does": r.does, "basis": r.basis,
                   "roles": {role: sorted(p) if p is not None else None
                             for role, p in r.roles.items()},
                   "others": sorted(r.others) if r.others is not None else None}
                  for r in table.TABLE],
        "psychotherapy_exceptions": [
            {"code": h.code, "originator": h.originator, "roles": sorted(h.roles),
             "purposes": sorted(h.purposes), "basis": h.basis}
            for h in table.PSYCHOTHERAPY_EXCEPTION_HOLDERS.values()],
    }
