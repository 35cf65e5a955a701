"""Every request is authenticated: a missing, malformed, unknown, revoked or expired token
is 401 with one generic body (why is in the recorded security event only), throttling is
429 with Retry-After, and a delegate token acts for the end user it names, the audit
recording both."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ledger.aggregates.audit import AuditEntry
from ledger.errors import Throttled
from tests.api.conftest import Practice, now
from tests.conftest import all_events

GENERIC = {"type": "urn:ledger:problem:unauthenticated", "title": "Unauthorized",
           "status": 401, "detail": "authentication failed"}


def failures(p: Practice) -> list[str | None]:
    return [e.reason for e in all_events(p.lg.main)
            if isinstance(e, AuditEntry.Recorded) and e.action == "authenticate"]


def assert_generic_401(response: object) -> None:
    assert response.status_code == 401  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    assert response.headers["www-authenticate"] == 'Bearer realm="ledger"'  # type: ignore[attr-defined]
    assert response.json() == GENERIC  # type: ignore[attr-defined]


@pytest.mark.parametrize(("headers", "why"), [
    ({}, "no credential"),
    ({"Authorization": "Basic ZHItbGVlOnB3"}, "unsupported authorization scheme"),
    ({"Authorization": "Bearer lgst_short"}, "malformed token"),
    ({"Authorization": "Bearer lgst_" + "A" * 43}, "unknown token"),
])
def test_a_request_without_a_valid_token_is_401_and_recorded(practice: Practice,
                                                              headers: dict[str, str],
                                                              why: str) -> None:
    response = practice.client.post("/v1/notes/search", json={"client": "C-1"},
                                    headers=headers)
    assert_generic_401(response)
    assert failures(practice) == [f"{why} (from testclient)"]


def test_an_unauthenticated_request_is_401_before_its_body_is_looked_at(
        practice: Practice) -> None:
    response = practice.client.post("/v1/notes", json={"client": "not a ref!", "x": 1})
    assert_generic_401(response)


def test_a_revoked_or_expired_token_is_401(practice: Practice) -> None:
    lg = practice.lg
    revoked = lg.tokens.issue("dr-lee", by="admin", at=now())
    lg.tokens.revoke(revoked.info.token_id, by="admin", at=now(), reason="laptop lost")
    expired = lg.tokens.issue("dr-lee", by="admin", at=now() - timedelta(days=2),
                              expires_at=now() - timedelta(days=1))
    for token in (revoked.token, expired.token):
        assert_generic_401(practice.client.get(
            "/v1/staff", headers={"Authorization": f"Bearer {token}"}))
    assert failures(practice) == ["revoked token (from testclient)",
                                  "expired token (from testclient)"]


def test_a_token_revoked_through_the_api_stops_working_at_once(practice: Practice) -> None:
    issued = practice.client.post("/v1/tokens", json={"staff": "bill", "label": "laptop"},
                                  headers=practice.auth("admin"))
    assert issued.status_code == 201
    token = issued.json()["token"]
    assert practice.client.get("/v1/staff", headers={
        "Authorization": f"Bearer {token}"}).status_code == 200
    revoked = practice.client.post(f"/v1/tokens/{issued.json()['token_id']}/revoke",
                                   json={"reason": "lost"}, headers=practice.auth("admin"))
    assert revoked.json()["state"] == "revoked"
    assert_generic_401(practice.client.get("/v1/staff", headers={
        "Authorization": f"Bearer {token}"}))
    listed = practice.client.get("/v1/tokens?staff=bill", headers=practice.auth("admin"))
    assert "token" not in listed.text.replace("token_id", "")  # never the secret


def test_a_deactivated_staff_members_token_is_401(practice: Practice) -> None:
    practice.client.post("/v1/staff/bill/deactivate", headers=practice.auth("admin"))
    assert_generic_401(practice.client.get("/v1/staff", headers=practice.auth("bill")))


def test_throttling_is_429_with_retry_after(practice: Practice,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    def throttled(*args: object, **kwargs: object) -> None:
        raise Throttled("too many failures from testclient", 30)

    monkeypatch.setattr(practice.lg.authenticator, "authenticate", throttled)
    response = practice.client.get("/v1/staff", headers=practice.auth("admin"))
    assert response.status_code == 429
    assert response.headers["retry-after"] == "30"
    assert response.json()["type"] == "urn:ledger:problem:throttled"


def test_a_delegate_token_acts_for_the_end_user_and_the_audit_shows_both(
        practice: Practice) -> None:
    lg = practice.lg
    lg.staff.add("ehr", "The EHR", "clinician", by="admin", at=now())
    ehr = practice.issue("ehr", delegate=True)
    note = lg.notes.write("C-1", "Session.", by="dr-lee", session_date=None, at=now())
    response = practice.client.get(f"/v1/notes/{note}?purpose=TREAT", headers={
        "Authorization": f"Bearer {ehr}", "X-On-Behalf-Of": "dr-lee"})
    assert response.status_code == 200
    assert response.json()["text"] == "Session."
    reads = [e for e in all_events(lg.main) if isinstance(e, AuditEntry.Recorded)
             and e.action == "access" and e.object_id == str(note)]
    assert [(e.actor_id, e.actor_via, e.outcome) for e in reads] == [
        ("dr-lee", "ehr", "granted")]
    # Acting for the front desk, it has the front desk's rights: refused, and recorded so.
    refused = practice.client.get(f"/v1/notes/{note}?purpose=TREAT", headers={
        "Authorization": f"Bearer {ehr}", "X-On-Behalf-Of": "desk"})
    assert refused.status_code == 403
    denied = [e for e in all_events(lg.main) if isinstance(e, AuditEntry.Recorded)
              and e.outcome == "denied" and e.object_id == str(note)]
    assert [(e.actor_id, e.actor_via) for e in denied] == [("desk", "ehr")]


def test_a_plain_token_naming_another_user_is_401(practice: Practice) -> None:
    response = practice.client.get("/v1/staff", headers=practice.auth(
        "dr-lee", **{"X-On-Behalf-Of": "comp"}))
    assert_generic_401(response)
    assert failures(practice) == ["dr-lee may not act for others (from testclient)"]


def test_any_on_behalf_of_header_reaches_the_authenticator(practice: Practice) -> None:
    """Not refused by a declared type before the token is checked: a plain token with any
    X-On-Behalf-Of is a recorded 401."""
    response = practice.client.get("/v1/staff", headers=practice.auth(
        "bill", **{"X-On-Behalf-Of": "x" * 500}))
    assert_generic_401(response)
    assert failures(practice) == ["bill may not act for others (from testclient)"]


def test_a_delegate_naming_an_unknown_user_is_401(practice: Practice) -> None:
    ehr = practice.issue("dr-kim", delegate=True)
    assert_generic_401(practice.client.get("/v1/staff", headers={
        "Authorization": f"Bearer {ehr}", "X-On-Behalf-Of": "nobody"}))


def test_a_direct_call_records_no_agent(practice: Practice) -> None:
    practice.client.post("/v1/notes", json={"client": "C-1", "text": "Direct."},
                         headers=practice.auth("dr-lee"))
    written = [e for e in all_events(practice.lg.main) if isinstance(e, AuditEntry.Recorded)
               and e.action == "originate"]
    assert [(e.actor_id, e.actor_via) for e in written] == [("dr-lee", None)]


def test_a_source_that_keeps_failing_is_throttled_for_real_and_a_valid_user_gets_back_in(
        practice: Practice, monkeypatch: pytest.MonkeyPatch) -> None:
    """No stub: ten bad tokens from one source, then even a valid one from it is 429
    (recorded once), and once the cool-down is over the valid user gets in again."""
    bad = {"Authorization": "Bearer lgst_" + "B" * 43}
    for _ in range(10):
        assert practice.client.get("/v1/staff", headers=bad).status_code == 401
    throttled = practice.client.get("/v1/staff", headers=practice.auth("admin"))
    assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) > 0
    assert throttled.json()["type"] == "urn:ledger:problem:throttled"
    again = practice.client.get("/v1/staff", headers=bad)
    assert again.status_code == 429
    reasons = failures(practice)
    assert reasons.count("unknown token (from testclient)") == 10
    assert len(reasons) == 11  # the cool-down is one event, not one per refused attempt
    # Time passes (the service's clock is read per request): the cool-down ends.
    later = now() + timedelta(seconds=int(throttled.headers["retry-after"]) + 1)
    monkeypatch.setattr("api.caller.now", lambda: later)
    assert practice.client.get("/v1/staff", headers=practice.auth("admin")).status_code == 200
