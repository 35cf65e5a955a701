"""Authorizations: the 164.508(c) core elements are required; validity is a function of
the moment of use; revocation and expiry events are recorded once, never in the future."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.aggregates.authorization import Authorization, compound_problem
from ledger.errors import BadInput
from ledger.vocabulary import PSYCHOTHERAPY_NOTES, SCOPES, parse_scopes

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def grant(**changes: object) -> Authorization:
    args: dict[str, object] = {
        "client_id": uuid4(), "scopes": (PSYCHOTHERAPY_NOTES,), "description": "notes",
        "discloser": "this practice", "recipient": "Dr. Park", "recipient_type": "provider",
        "purpose": "care",
        "expires": date(2026, 6, 30), "expiry_event": None, "signed_by": "Jane Roe",
        "signed_on": date(2026, 3, 1), "representative_authority": None, "at": AT}
    args.update(changes)
    return Authorization.grant(**args)  # type: ignore[arg-type]


def test_scopes_parse_and_compounds_are_named() -> None:
    assert parse_scopes(["psychotherapy-notes"]) == (PSYCHOTHERAPY_NOTES,)
    assert parse_scopes(["progress-notes, designated-record-set", "progress-notes"]) == (
        "progress-notes", "designated-record-set")
    with pytest.raises(BadInput, match=r"^unknown scope 'everything'; use one of "):
        parse_scopes(["everything"])
    with pytest.raises(BadInput, match=r"^an authorization needs a scope$"):
        parse_scopes([" , "])
    assert compound_problem((PSYCHOTHERAPY_NOTES,)) is None
    assert compound_problem(("progress-notes", "designated-record-set")) is None


@given(st.lists(st.sampled_from(SCOPES), min_size=1, unique=True))
def test_any_scope_set_mixing_psychotherapy_notes_is_compound(scopes: list[str]) -> None:
    mixed = PSYCHOTHERAPY_NOTES in scopes and len(scopes) > 1
    assert (compound_problem(tuple(scopes)) is not None) == mixed
    if mixed:
        with pytest.raises(BadInput, match=r"164.508\(b\)\(3\)\(ii\)"):
            grant(scopes=tuple(scopes))


@pytest.mark.parametrize(("changes", "message"), [
    ({"recipient": " "}, r"^an authorization needs --recipient \(45 CFR 164.508\(c\)\(1\)\)$"),
    ({"purpose": ""}, r"^an authorization needs --purpose"),
    ({"signed_by": ""}, r"^an authorization needs --signed-by"),
    ({"expires": None}, r"^give exactly one of --expires DATE or --expiry-event TEXT"),
    ({"expiry_event": "end of treatment"}, r"^give exactly one of --expires"),
    ({"signed_on": date(2026, 3, 2)}, r"^the signature date is in the future$"),
    ({"expires": date(2026, 2, 1)}, r"^the authorization expires before it was signed$"),
    ({"representative_authority": " "}, r"^--representative-authority must describe"),
])
def test_core_elements_are_required(changes: dict[str, object], message: str) -> None:
    with pytest.raises(BadInput, match=message):
        grant(**changes)


@given(signed=st.integers(0, 100), length=st.integers(0, 400),
       revoked=st.integers(0, 500) | st.none(), day=st.integers(-50, 600))
def test_validity_is_the_plain_date_rule(signed: int, length: int, revoked: int | None,
                                         day: int) -> None:
    base = date(2026, 1, 1)
    signed_on = base + timedelta(days=signed)
    expires = signed_on + timedelta(days=length)
    at = datetime.combine(signed_on, datetime.min.time(), UTC) + timedelta(days=signed + 500)
    auth = grant(signed_on=signed_on, expires=expires, at=at)
    if revoked is not None:
        auth.revoke(signed_on + timedelta(days=revoked), at)
    moment = datetime.combine(base + timedelta(days=day), datetime.min.time(), UTC) + timedelta(
        hours=13)
    d = moment.date()
    expected = signed_on <= d <= expires and (revoked is None
                                              or d < signed_on + timedelta(days=revoked))
    assert auth.validity_at(moment).valid == expected
    assert (auth.status_at(moment) == "valid") == expected


def test_revocation_rules() -> None:
    auth = grant()
    with pytest.raises(BadInput, match=r"^the revocation's received date is in the future$"):
        auth.revoke(date(2026, 3, 2), AT)
    with pytest.raises(BadInput, match=r"^the revocation was received before the "):
        auth.revoke(date(2026, 2, 28), AT)
    auth.revoke(date(2026, 3, 1), AT)
    with pytest.raises(BadInput, match=r"was already revoked \(received 2026-03-01\)$"):
        auth.revoke(date(2026, 3, 1), AT)
    assert auth.status_at(AT) == "revoked"


def test_expiry_event_rules() -> None:
    dated = grant()
    with pytest.raises(BadInput, match=r"expires on a date, not on an event$"):
        dated.record_expiry_event(date(2026, 3, 1), AT)
    evented = grant(expires=None, expiry_event="end of treatment")
    assert evented.validity_at(AT + timedelta(days=3000)).valid
    evented.record_expiry_event(date(2026, 3, 1), AT)
    assert evented.status_at(AT) == "expired"
    with pytest.raises(BadInput, match=r"expiry event was already recorded$"):
        evented.record_expiry_event(date(2026, 3, 1), AT)
