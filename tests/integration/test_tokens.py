"""Staff tokens and authentication (issue 13): a token is shown once, stored only as its
digest, issued and revoked by an admin, and every failed authentication is recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ledger.aggregates.audit import AuditEntry
from ledger.aggregates.token import StaffToken
from ledger.bootstrap import Ledger
from ledger.errors import BadInput, Refused, Unauthenticated
from ledger.services.authentication import acting_for
from ledger.services.tokens import TOKEN
from ledger.settings import Settings
from tests.conftest import all_events, seed

T0 = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)


def failures(lg: Ledger) -> list[str | None]:
    return [e.reason for e in all_events(lg.main)
            if isinstance(e, AuditEntry.Recorded) and e.action == "authenticate"]


def test_a_token_proves_its_staff_member_until_revoked(lg: Ledger) -> None:
    seed(lg, T0)
    issued = lg.tokens.issue("dr-lee", by="admin", at=T0, expires_at=T0 + timedelta(days=30))
    assert TOKEN.fullmatch(issued.token) and len(issued.token) == 48  # 256 bits + prefix
    principal = lg.authenticator.authenticate(f"Bearer {issued.token}", source="127.0.0.1",
                                              at=T0)
    assert (principal.staff_id, principal.method, principal.via) == ("dr-lee", "staff-token",
                                                                     None)
    assert principal.credential == str(issued.info.token_id)
    lg.tokens.revoke(issued.info.token_id, by="admin", at=T0 + timedelta(hours=1),
                     reason="laptop lost")
    with pytest.raises(Unauthenticated, match=r"^revoked token$"):
        lg.authenticator.authenticate(f"Bearer {issued.token}", source="10.0.0.9",
                                      at=T0 + timedelta(hours=2))
    assert failures(lg) == ["revoked token (from 10.0.0.9)"]
    listed = lg.tokens.list_tokens(by="admin", at=T0 + timedelta(hours=2))
    assert [(t.staff_id, t.state) for t in listed] == [("dr-lee", "revoked")]


@pytest.mark.parametrize(("header", "why"), [
    (None, "no credential"),
    ("Basic ZHItbGVlOnB3", "unsupported authorization scheme"),
    ("Bearer lgst_short", "malformed token"),
    ("Bearer lgst_" + "A" * 43, "unknown token"),
])
def test_every_failure_is_a_recorded_security_event(memory_lg: Ledger, header: str | None,
                                                    why: str) -> None:
    seed(memory_lg, T0)
    with pytest.raises(Unauthenticated, match=f"^{why}$"):
        memory_lg.authenticator.authenticate(header, source="192.0.2.7", at=T0)
    assert failures(memory_lg) == [f"{why} (from 192.0.2.7)"]


def test_expiry_and_deactivation_end_a_token(memory_lg: Ledger) -> None:
    seed(memory_lg, T0)
    issued = memory_lg.tokens.issue("dr-lee", by="admin", at=T0,
                                    expires_at=T0 + timedelta(days=1))
    with pytest.raises(Unauthenticated, match=r"^expired token$"):
        memory_lg.authenticator.authenticate(f"Bearer {issued.token}", source="x",
                                             at=T0 + timedelta(days=2))
    other = memory_lg.tokens.issue("dr-kim", by="admin", at=T0)
    memory_lg.staff.deactivate("dr-kim", by="admin", at=T0)
    with pytest.raises(Unauthenticated, match=r"^token of a deactivated staff member$"):
        memory_lg.authenticator.authenticate(f"Bearer {other.token}", source="x", at=T0)
    with pytest.raises(BadInput, match=r"^a token's expiry must be in the future$"):
        memory_lg.tokens.issue("dr-lee", by="admin", at=T0, expires_at=T0)


def test_only_an_admin_issues_and_the_refusal_is_recorded(memory_lg: Ledger) -> None:
    seed(memory_lg, T0)
    with pytest.raises(Refused, match=r"^refused: role clinician may not manage staff"):
        memory_lg.tokens.issue("dr-lee", by="dr-lee", at=T0)
    assert not [e for e in all_events(memory_lg.main) if isinstance(e, StaffToken.Issued)]


def test_an_insider_with_the_database_finds_no_token(lg: Ledger, settings: Settings) -> None:
    """Only the digest is stored: the token's bytes are nowhere in the database files."""
    seed(lg, T0)
    issued = lg.tokens.issue("dr-lee", by="admin", at=T0)
    secret = issued.token.encode()
    if settings.main.url.startswith("sqlite"):
        path = Path(settings.main.url.removeprefix("sqlite:///"))
        for file in path.parent.glob(path.name + "*"):
            assert secret not in file.read_bytes() and secret[5:] not in file.read_bytes()
    assert lg.main.verify().ok


def test_a_delegate_acts_for_the_end_user_it_names_and_both_are_recorded(
        memory_lg: Ledger) -> None:
    seed(memory_lg, T0)
    memory_lg.staff.add("ehr", "EHR integration", "front-desk", by="admin", at=T0)
    service = memory_lg.tokens.issue("ehr", by="admin", at=T0, delegate=True)
    plain = memory_lg.tokens.issue("desk", by="admin", at=T0)
    principal = memory_lg.authenticator.authenticate(
        f"Bearer {service.token}", source="10.1.1.1", at=T0, on_behalf_of="dr-lee")
    assert (principal.staff_id, principal.via) == ("dr-lee", "ehr")
    with acting_for(principal):
        note = memory_lg.notes.write("C-1", "text", by=principal.staff_id, session_date=None,
                                     at=T0)
        memory_lg.notes.read(note, by=principal.staff_id, purpose="TREAT", at=T0)
    entries = [e for e in all_events(memory_lg.main) if isinstance(e, AuditEntry.Recorded)]
    assert [(e.actor_id, e.actor_role, e.actor_via) for e in entries[-2:]] == [
        ("dr-lee", "clinician", "ehr"), ("dr-lee", "clinician", "ehr")]
    with pytest.raises(Unauthenticated, match=r"^desk may not act for others$"):
        memory_lg.authenticator.authenticate(f"Bearer {plain.token}", source="x", at=T0,
                                             on_behalf_of="dr-lee")
    with pytest.raises(Unauthenticated, match=r"^ehr named an unknown or deactivated end "):
        memory_lg.authenticator.authenticate(f"Bearer {service.token}", source="x", at=T0,
                                             on_behalf_of="nobody")


def test_an_insider_who_deletes_a_revocation_is_caught_by_verification(lg: Ledger) -> None:
    """Deleting a token's revocation row brings the token back for authentication, which
    reads the record without walking the chain; the chain names the gap (ledger verify,
    and the scheduled verification job)."""
    seed(lg, T0)
    issued = lg.tokens.issue("dr-lee", by="admin", at=T0)
    lg.tokens.revoke(issued.info.token_id, by="admin", at=T0)
    assert lg.main.verify().ok
    events = lg.main.event_log.events
    with lg.main.engine.begin() as conn:
        conn.execute(events.delete().where(
            events.c.originator_id == issued.info.token_id,
            events.c.originator_version == 2))
    report = lg.main.verify()
    assert not report.ok and report.damage is not None


def test_the_role_authentication_read_serves_only_the_principal(memory_lg: Ledger,
                                                                monkeypatch: pytest.MonkeyPatch
                                                                ) -> None:
    """Inside ``acting_for``, an attempt by the principal takes the role authentication read
    (the staff member is not read twice in one request); an attempt by anyone else inside
    the same context is read from the store as always, so a principal's role never
    passes to another actor."""
    seed(memory_lg, T0)
    issued = memory_lg.tokens.issue("dr-lee", by="admin", at=T0)
    principal = memory_lg.authenticator.authenticate(f"Bearer {issued.token}", source="x",
                                                     at=T0)
    assert principal.role == "clinician"
    reads: list[str] = []
    staff_view = memory_lg.main.staff_view
    monkeypatch.setattr(memory_lg.main, "staff_view",
                        lambda staff_id: reads.append(staff_id) or staff_view(staff_id))
    with acting_for(principal):
        note = memory_lg.notes.write("C-1", "text", by=principal.staff_id, session_date=None,
                                     at=T0)
        assert reads == []
        with pytest.raises(Refused, match=r"^refused: .*\(the attempt was recorded\)$"):
            memory_lg.notes.read(note, by="desk", purpose="TREAT", at=T0)
    assert reads == ["desk"]
    entries = [e for e in all_events(memory_lg.main) if isinstance(e, AuditEntry.Recorded)]
    assert [(e.actor_id, e.actor_role, e.outcome) for e in entries[-2:]] == [
        ("dr-lee", "clinician", "granted"), ("desk", "front-desk", "denied")]
