"""Staff, their tokens, and clients over the API (``/v1/staff``, ``/v1/tokens``,
``/v1/clients``): the methods of :class:`ledger.services.staff.Staff`,
:class:`ledger.services.tokens.Tokens` and :class:`ledger.services.clients.Clients` that
the commands call. ``by`` and ``at`` are the server's (see :mod:`cli.remote.notes`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from cli.remote.connection import Connection
from cli.remote.decode import build, build_list
from ledger.identifiers import check_staff_id
from ledger.views import IssuedToken, StaffInfo, TokenInfo


class Staff:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, staff_id: str, name: str, role: str, *, by: str | None,
            at: datetime) -> StaffInfo:
        return build(StaffInfo, self.connection.call(
            "POST", "/v1/staff", body={"id": staff_id, "name": name, "role": role}))

    def set_role(self, staff_id: str, role: str, *, by: str | None, at: datetime) -> StaffInfo:
        return build(StaffInfo, self.connection.call(
            "PUT", f"/v1/staff/{_segment(staff_id)}/role", body={"role": role}))

    def deactivate(self, staff_id: str, *, by: str | None, at: datetime) -> StaffInfo:
        return build(StaffInfo, self.connection.call(
            "POST", f"/v1/staff/{_segment(staff_id)}/deactivate"))

    def list_staff(self) -> list[StaffInfo]:
        return build_list(StaffInfo, self.connection.call("GET", "/v1/staff"))


class Tokens:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def issue(self, staff_id: str, *, by: str | None, at: datetime,
              expires_at: datetime | None = None, delegate: bool = False,
              label: str | None = None) -> IssuedToken:
        answer = self.connection.call("POST", "/v1/tokens", body={
            "staff": staff_id, "expires": expires_at, "delegate": delegate, "label": label})
        return IssuedToken(token=build(_Secret, answer).token, info=build(TokenInfo, answer))

    def revoke(self, token: UUID, *, by: str | None, at: datetime, reason: str | None = None
               ) -> TokenInfo:
        return build(TokenInfo, self.connection.call(
            "POST", f"/v1/tokens/{token}/revoke", body={"reason": reason}))

    def list_tokens(self, *, by: str | None, at: datetime, staff_id: str | None = None
                    ) -> list[TokenInfo]:
        return build_list(TokenInfo, self.connection.call(
            "GET", "/v1/tokens", params={"staff": staff_id}))


class Clients:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def register(self, client_ref: str, name: str, dob: date, jurisdiction: str, *,
                 by: str | None, at: datetime) -> None:
        self.connection.call("POST", "/v1/clients", body={
            "client": client_ref, "name": name, "dob": dob, "state": jurisdiction})

    def open_episode(self, client_ref: str, *, license: str, facility: str | None,
                     start: date, by: str | None, at: datetime, state: str | None = None
                     ) -> None:
        self.connection.call("POST", "/v1/clients/episodes/open", body={
            "client": client_ref, "license": license, "facility": facility, "start": start,
            "state": state})

    def close_episode(self, client_ref: str, *, end: date, kind: str, by: str | None,
                      at: datetime) -> None:
        self.connection.call("POST", "/v1/clients/episodes/close", body={
            "client": client_ref, "end": end, "kind": kind})

    def record_contact(self, client_ref: str, *, on: date, by: str | None,
                       at: datetime) -> None:
        self.connection.call("POST", "/v1/clients/contacts",
                             body={"client": client_ref, "on": on})


@dataclass(frozen=True)
class _Secret:
    """The one field of an issued token's answer that its record does not hold."""

    token: str


def _segment(staff_id: str) -> str:
    """A staff id as a path segment: checked as the service checks it (letters, digits
    and ``. _ @ -``), so no value can change the path."""
    return check_staff_id(staff_id)
