"""Property-based tests of the access policy against a plain statement of the rules."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ledger.rules import roles as policy
from ledger.vocabulary import ALL_PURPOSES, ROLES

# The README's table, written out independently of ledger/rules/roles.py.
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
purposes = st.sampled_from(sorted(ALL_PURPOSES))


@given(staff_views, purposes)
def test_read_rule(staff: policy.StaffView | None, purpose: str) -> None:
    decision = policy.decide(staff, policy.READ_NOTE, purpose=purpose)
    expected = staff is not None and staff.active and purpose in README_READS[staff.role]
    assert decision.granted is expected
    assert (decision.reason is None) is expected


@given(staff_views, st.sampled_from(["a", "b", "c"]))
def test_amend_rule(staff: policy.StaffView | None, author: str) -> None:
    expected = (staff is not None and staff.active
                and (staff.role == "supervisor"
                     or (staff.role == "clinician" and staff.staff_id == author)))
    assert policy.decide(staff, policy.AMEND_NOTE, originator=author).granted is expected


@given(staff_views)
def test_nobody_inactive_or_unknown_gets_anything(staff: policy.StaffView | None) -> None:
    if staff is not None and staff.active:
        return
    decisions = [policy.decide(staff, rule, purpose=p, originator="a")
                 for rule in policy.TABLE for p in (None, *ALL_PURPOSES)]
    assert not any(d.granted for d in decisions)


@given(staff_views)
def test_only_admins_manage_staff(staff: policy.StaffView | None) -> None:
    expected = staff is not None and staff.active and staff.role == "admin"
    assert policy.decide(staff, policy.MANAGE_STAFF).granted is expected


def test_payment_purposes_never_open_notes_to_clinical_only_roles() -> None:
    for role in ("front-desk", "admin"):
        view = policy.StaffView("x", role, True)
        assert not any(policy.decide(view, policy.READ_NOTE, purpose=p).granted
                       for p in ALL_PURPOSES)
