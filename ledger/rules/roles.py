"""Who may do what with progress notes: pure functions, no I/O.

Purpose codes are HL7 PurposeOfUse codes (v3-ActReason; regulation.md section 3.5).
The role rules are this product's choice (stated in the README); they implement
minimum necessary (45 CFR 164.502(b), 164.514(d)): each role sees clinical content
only for the purposes its job needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.errors import BadInput

# regulation.md 3.5: PurposeOfUse codes by group.
PURPOSES: dict[str, tuple[str, ...]] = {
    "treatment": ("TREAT", "ETREAT", "ERTREAT", "BTG", "POPHLTH"),
    "payment": ("HPAYMT", "CLMATTCH", "COVERAGE"),
    "operations": ("HOPERAT", "CAREMGT", "HACCRED", "HCOMPL", "HDIRECT", "HLEGAL", "HPRGRP",
                   "HQUALIMP", "HSYSADMIN", "PATADMIN", "TRAIN"),
    "individual": ("PATRQT", "FAMRQT", "PWATRNY", "SUPNWK"),
    "legal-and-other": ("LEGAL", "PUBHLTH", "HRESCH", "HMARKT", "THREAT", "DISASTER"),
}
ALL_PURPOSES = frozenset(code for codes in PURPOSES.values() for code in codes)

# Purposes for which each role may read progress-note content.
READ_PURPOSES: dict[str, frozenset[str]] = {
    "clinician": frozenset({"TREAT", "ETREAT"}),
    "supervisor": frozenset({"TREAT", "ETREAT", "HOPERAT", "TRAIN", "HQUALIMP"}),
    "billing": frozenset({"HPAYMT", "CLMATTCH", "COVERAGE"}),
    "compliance": frozenset({"HOPERAT", "HCOMPL", "HLEGAL", "HQUALIMP", "HACCRED"}),
    "front-desk": frozenset(),
    "admin": frozenset(),
}
WRITERS = frozenset({"clinician", "supervisor"})
REGISTRARS = frozenset({"front-desk", "clinician", "supervisor", "admin"})
STAFF_ADMINS = frozenset({"admin"})
# Who places and releases legal holds and reads retention schedules.
RETENTION_OFFICERS = frozenset({"compliance", "admin"})
# Who handles a client's right-of-access request (164.524) and produces the export.
ACCESS_REQUEST_HANDLERS = frozenset({"compliance", "supervisor"})


def check_purpose(code: str) -> str:
    if code not in ALL_PURPOSES:
        raise BadInput(f"unknown purpose of use {code!r}; use an HL7 PurposeOfUse code "
                       "such as TREAT, HPAYMT or HOPERAT")
    return code


@dataclass(frozen=True)
class Decision:
    granted: bool
    reason: str | None = None


GRANTED = Decision(True)


@dataclass(frozen=True)
class StaffView:
    """What the policy needs to know of the acting person (None when unknown)."""

    staff_id: str
    role: str
    active: bool


def refuse_inactive(staff: StaffView | None) -> Decision | None:
    if staff is None:
        return Decision(False, "unknown staff id")
    if not staff.active:
        return Decision(False, "staff member is deactivated")
    return None


def may_read(staff: StaffView | None, purpose: str) -> Decision:
    if (refused := refuse_inactive(staff)) is not None:
        return refused
    assert staff is not None
    if purpose not in READ_PURPOSES[staff.role]:
        return Decision(False, f"role {staff.role} may not read notes for purpose {purpose}")
    return GRANTED


def may_list(staff: StaffView | None) -> Decision:
    if (refused := refuse_inactive(staff)) is not None:
        return refused
    assert staff is not None
    if not READ_PURPOSES[staff.role]:
        return Decision(False, f"role {staff.role} may not list clinical notes")
    return GRANTED


def may_write(staff: StaffView | None) -> Decision:
    if (refused := refuse_inactive(staff)) is not None:
        return refused
    assert staff is not None
    if staff.role not in WRITERS:
        return Decision(False, f"role {staff.role} may not write clinical notes")
    return GRANTED


def may_amend(staff: StaffView | None, author_id: str) -> Decision:
    decided = may_write(staff)
    if not decided.granted or staff is None:
        return decided
    if staff.staff_id != author_id and staff.role != "supervisor":
        return Decision(False, "only the note's author or a supervisor may amend it")
    return GRANTED


def may_register_client(staff: StaffView | None) -> Decision:
    if (refused := refuse_inactive(staff)) is not None:
        return refused
    assert staff is not None
    if staff.role not in REGISTRARS:
        return Decision(False, f"role {staff.role} may not register clients")
    return GRANTED


def may_manage_staff(staff: StaffView | None) -> Decision:
    if (refused := refuse_inactive(staff)) is not None:
        return refused
    assert staff is not None
    if staff.role not in STAFF_ADMINS:
        return Decision(False, f"role {staff.role} may not manage staff")
    return GRANTED


BREAK_GLASS_PURPOSES = frozenset({"TREAT", "ETREAT", "ERTREAT", "BTG"})


def may_break_glass(staff: StaffView | None, purpose: str) -> Decision:
    """Break-the-glass (HL7 BTG, regulation.md 3.5: "immediately needed health care"): any
    active staff member may override the role rules to read a progress note for treatment;
    the access is flagged with its reason. It never applies to psychotherapy notes (see
    ledger.rules.disclosure)."""
    if (refused := refuse_inactive(staff)) is not None:
        return refused
    if purpose not in BREAK_GLASS_PURPOSES:
        return Decision(False, "break-the-glass is for immediately needed treatment "
                               "(purpose TREAT, ETREAT, ERTREAT or BTG)")
    return GRANTED


def may_handle_access_requests(staff: StaffView | None) -> Decision:
    if (refused := refuse_inactive(staff)) is not None:
        return refused
    assert staff is not None
    if staff.role not in ACCESS_REQUEST_HANDLERS:
        return Decision(False, f"role {staff.role} may not handle right-of-access requests")
    return GRANTED


def may_manage_holds(staff: StaffView | None) -> Decision:
    """Legal holds and retention schedules: compliance and admins (product choice)."""
    if (refused := refuse_inactive(staff)) is not None:
        return refused
    assert staff is not None
    if staff.role not in RETENTION_OFFICERS:
        return Decision(False, f"role {staff.role} may not manage retention or legal holds")
    return GRANTED
