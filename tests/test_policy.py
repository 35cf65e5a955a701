"""Property-based tests of the access policy against a plain statement of the rules."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ledger.aggregates.staff import ROLES
from ledger.rules import roles as policy

# The README's table, written out independently of ledger/policy.py.
README_READS = {
    "clinician": {"TREAT", "ETREAT"},
    "supervisor": {"TREAT", "ETREAT", "HOPERAT", "TRAIN", "HQUALIMP"},
    "billing": {"HPAYMT", "CLMATTCH", "COVERAGE"},
    "compliance": {"HOPERAT", "HCOMPL", "HLEGAL", "HQUALIMP", "HACCRED"},
    "front-desk": set(),
    "admin": set(),
}

staff_views = st.one_of(
    st.none(),
    st.builds(policy.StaffView, staff_id=st.sampled_from(["a", "b", "c"]),
              role=st.sampled_from(ROLES), active=st.booleans()),
)
purposes = st.sampled_from(sorted(policy.ALL_PURPOSES))


@given(staff_views, purposes)
def test_read_rule(staff: policy.StaffView | None, purpose: str) -> None:
    decision = policy.may_read(staff, purpose)
    expected = staff is not None and staff.active and purpose in README_READS[staff.role]
    assert decision.granted is expected
    assert (decision.reason is None) is expected


@given(staff_views, st.sampled_from(["a", "b", "c"]))
def test_amend_rule(staff: policy.StaffView | None, author: str) -> None:
    expected = (staff is not None and staff.active
                and (staff.role == "supervisor"
                     or (staff.role == "clinician" and staff.staff_id == author)))
    assert policy.may_amend(staff, author).granted is expected


@given(staff_views)
def test_nobody_inactive_or_unknown_gets_anything(staff: policy.StaffView | None) -> None:
    if staff is not None and staff.active:
        return
    rules = [policy.may_list(staff), policy.may_write(staff), policy.may_register_client(staff),
             policy.may_manage_staff(staff), policy.may_amend(staff, "a")]
    rules += [policy.may_read(staff, p) for p in policy.ALL_PURPOSES]
    assert not any(d.granted for d in rules)


@given(staff_views)
def test_only_admins_manage_staff(staff: policy.StaffView | None) -> None:
    expected = staff is not None and staff.active and staff.role == "admin"
    assert policy.may_manage_staff(staff).granted is expected


def test_payment_purposes_never_open_notes_to_clinical_only_roles() -> None:
    for role in ("front-desk", "admin"):
        view = policy.StaffView("x", role, True)
        assert not any(policy.may_read(view, p).granted for p in policy.ALL_PURPOSES)
