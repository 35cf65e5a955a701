"""Staff tokens: issue (shown once), revoke, list, and verify a presented token.

A token is ``lgst_`` and 43 characters of base64url: 256 random bits with a prefix a
secret scanner recognises. Its record holds only the SHA-256 digest; the record's id is
the digest's first 16 bytes, so a presented token finds its record in the event store,
whose chain is verified like every other event. Issuing and revoking are recorded events
made by an admin (the roles table's ``staff.manage``)."""

from __future__ import annotations

import base64
import re
import secrets
from datetime import datetime
from uuid import UUID

from eventsourcing.utils import get_topic

from ledger.aggregates.base import utc
from ledger.aggregates.staff import StaffMember
from ledger.aggregates.token import StaffToken, token_id
from ledger.errors import BadInput, NotFound
from ledger.rules import roles
from ledger.services.audited import Attempt
from ledger.stores.main import MainStore
from ledger.views import IssuedToken, Principal, TokenInfo

PREFIX = "lgst_"
TOKEN = re.compile(r"lgst_[A-Za-z0-9_-]{43}")
TOKEN_BYTES = 32


def new_token() -> str:
    raw = secrets.token_bytes(TOKEN_BYTES)
    return PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


class Tokens:
    def __init__(self, main: MainStore) -> None:
        self.main = main

    def issue(self, staff_id: str, *, by: str, at: datetime, expires_at: datetime | None = None,
              delegate: bool = False, label: str | None = None) -> IssuedToken:
        """Issue a token for ``staff_id`` (an admin's act, recorded)."""
        at = utc(at)
        if expires_at is not None:
            expires_at = utc(expires_at)
        if label is not None and (len(label) > 100 or not label.isprintable()):
            raise BadInput("a token label is at most 100 printable characters")
        with Attempt(self.main, by, "amend", "staff-token", at=at,
                     object_id=StaffMember.id_for(staff_id)) as attempt:
            attempt.decide(roles.MANAGE_STAFF)
            member = self.main.staff_member(staff_id)
            if not member.active:
                raise BadInput(f"staff {staff_id} is deactivated")
            token = new_token()
            record = StaffToken.issue(token, staff_id, expires_at=expires_at,
                                      delegate=delegate, label=label, at=attempt.at)
            attempt.save(record)
        return IssuedToken(token, _info(record, at))

    def revoke(self, token: UUID, *, by: str, at: datetime, reason: str | None = None
               ) -> TokenInfo:
        at = utc(at)
        with Attempt(self.main, by, "amend", "staff-token", at=at, object_id=token) as attempt:
            attempt.decide(roles.MANAGE_STAFF)
            record = self.main.get(StaffToken, token, f"token {token}")
            record.revoke(reason, attempt.at)
            attempt.save(record)
        return _info(record, at)

    def list_tokens(self, *, by: str, at: datetime, staff_id: str | None = None
                    ) -> list[TokenInfo]:
        at = utc(at)
        with Attempt(self.main, by, "list", "staff-token", at=at) as attempt:
            attempt.decide(roles.MANAGE_STAFF)
            records = [self.main.get(StaffToken, i, "token") for i in
                       self.main.event_log.originators(get_topic(StaffToken.Issued))]
            attempt.commit()
        return sorted((_info(r, at) for r in records
                       if staff_id is None or r.staff_id == staff_id),
                      key=lambda t: (t.issued_at, str(t.token_id)))

    def verify(self, token: str, at: datetime) -> tuple[Principal, StaffToken] | str:
        """The principal ``token`` proves at ``at``, with its record; else why not (for the
        security event; never shown to the caller)."""
        if not TOKEN.fullmatch(token):
            return "malformed token"
        try:
            record = self.main.get(StaffToken, token_id(token), "token")
        except NotFound:
            return "unknown token"
        if not record.matches(token):
            return "unknown token"
        state = record.state_at(utc(at))
        if state != "active":
            return f"{state} token"
        staff = self.main.staff_view(record.staff_id)
        if staff is None or not staff.active:
            return "token of a deactivated staff member"
        return Principal(record.staff_id, "staff-token", str(record.id), role=staff.role), record


def _info(record: StaffToken, at: datetime) -> TokenInfo:
    return TokenInfo(record.id, record.staff_id, record.created_on, record.expires_at,
                     record.delegate, record.label, record.state_at(at))
