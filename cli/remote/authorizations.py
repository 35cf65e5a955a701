"""Authorizations over the API (``/v1/authorizations``): the methods of
:class:`ledger.services.authorizations.Authorizations` that the commands call. ``by`` and
``at`` are the server's (see :mod:`cli.remote.notes`)."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from cli.remote.connection import Connection, store_choice
from cli.remote.decode import build, build_list
from ledger.views import AuthorizationInfo

PATH = "/v1/authorizations"


class Authorizations:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def grant(self, client_ref: str, scopes: tuple[str, ...], *, by: str | None,
              recipient: str, purpose: str, expires: date | None, expiry_event: str | None,
              signed_by: str, signed_on: date, representative_authority: str | None,
              description: str, discloser: str, at: datetime,
              recipient_type: str | None = None) -> AuthorizationInfo:
        return build(AuthorizationInfo, self.connection.call("POST", PATH, body={
            "client": client_ref, "scopes": scopes, "recipient": recipient,
            "recipient_type": recipient_type, "purpose": purpose, "expires": expires,
            "expiry_event": expiry_event, "signed_by": signed_by, "signed_on": signed_on,
            "representative_authority": representative_authority,
            "description": description, "discloser": discloser}))

    def revoke(self, authorization_id: UUID, received: date, *, by: str | None,
               at: datetime) -> AuthorizationInfo:
        return build(AuthorizationInfo, self.connection.call(
            "POST", f"{PATH}/{authorization_id}/revoke", body={"received": received}))

    def record_expiry_event(self, authorization_id: UUID, occurred: date, *, by: str | None,
                            at: datetime) -> AuthorizationInfo:
        return build(AuthorizationInfo, self.connection.call(
            "POST", f"{PATH}/{authorization_id}/expire", body={"occurred": occurred}))

    def list_authorizations(self, client_ref: str, *, by: str | None, at: datetime,
                            stores: tuple[str, ...] = ("main", "pn")
                            ) -> list[AuthorizationInfo]:
        return build_list(AuthorizationInfo, self.connection.call(
            "POST", f"{PATH}/search", body={"client": client_ref, "store": store_choice(stores)}))
