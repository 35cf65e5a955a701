"""Authorizations (45 CFR 164.508): grant, revoke, record an expiry event, list.

Psychotherapy-note authorizations are kept in the sealed store, all others in the main
store: a grant goes where its scope says, and revoking or expiring finds the authorization
in either. Who may handle each kind is the roles table's.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from uuid import UUID

from ledger.aggregates.audit import Action
from ledger.aggregates.authorization import Authorization, compound_problem
from ledger.aggregates.base import utc
from ledger.errors import BadInput, NotFound
from ledger.keys.pseudonyms import ClientIds
from ledger.rules import roles
from ledger.rules.disclosure import payer_problem
from ledger.rules.roles import Rule
from ledger.services.audited import Attempt, retry_on_conflict
from ledger.stores.clinical import ClinicalStore
from ledger.views import AuthorizationInfo
from ledger.vocabulary import PSYCHOTHERAPY_NOTES, check_recipient_type

STORES = ("main", "pn")


class Authorizations:
    def __init__(self, main: ClinicalStore, sealed: ClinicalStore,
                 client_id: ClientIds) -> None:
        self.client_id = client_id
        self.stores: dict[str, tuple[ClinicalStore, Rule]] = {
            "main": (main, roles.AUTHORIZE), "pn": (sealed, roles.AUTHORIZE_PSYCHOTHERAPY)}

    def grant(self, client_ref: str, scopes: tuple[str, ...], *, by: str, recipient: str,
              purpose: str, expires: date | None, expiry_event: str | None, signed_by: str,
              signed_on: date, representative_authority: str | None, description: str,
              discloser: str, at: datetime,
              recipient_type: str | None = None) -> AuthorizationInfo:
        """Record a signed authorization. A psychotherapy-note authorization must say what
        kind of recipient it names, and is refused for a payer (a payer never receives a
        psychotherapy note) or when combined with any other scope (164.508(b)(3)(ii))."""
        client_id = self.client_id(client_ref)
        if recipient_type is not None:
            check_recipient_type(recipient_type)
        sealed = PSYCHOTHERAPY_NOTES in scopes
        store, rule = self.stores["pn" if sealed else "main"]
        with Attempt(store, by, "authorize", "authorization", at=at,
                     client_id=client_id) as use:
            use.decide(rule)
            problem = compound_problem(scopes) or (payer_problem(recipient_type)
                                                   if sealed else None)
            if problem is not None:
                use.refuse(problem)
            if sealed and recipient_type is None:
                raise BadInput("a psychotherapy-note authorization needs --recipient-type")
            if not store.client_exists(client_id):
                raise NotFound(f"client {client_ref} not found")
            auth = Authorization.grant(
                client_id=client_id, scopes=scopes, description=description,
                discloser=discloser, recipient=recipient, recipient_type=recipient_type,
                purpose=purpose, expires=expires, expiry_event=expiry_event,
                signed_by=signed_by, signed_on=signed_on,
                representative_authority=representative_authority, at=use.at)
            use.about(object_id=auth.id)
            use.commit(auth)
        return info(auth, use.at)

    def revoke(self, authorization_id: UUID, received: date, *, by: str,
               at: datetime) -> AuthorizationInfo:
        """Record a written revocation received on ``received`` (164.508(b)(5))."""
        return self._change(authorization_id, by, "revoke", at,
                            lambda a, t: a.revoke(received, t))

    def record_expiry_event(self, authorization_id: UUID, occurred: date, *, by: str,
                            at: datetime) -> AuthorizationInfo:
        """Record that an authorization's expiration event occurred on ``occurred``."""
        return self._change(authorization_id, by, "expire", at,
                            lambda a, t: a.record_expiry_event(occurred, t))

    def list_authorizations(self, client_ref: str, *, by: str, at: datetime,
             stores: tuple[str, ...] = STORES) -> list[AuthorizationInfo]:
        """A client's authorizations with their status at ``at``. Each store's listing is
        recorded there as an access."""
        client_id = self.client_id(client_ref)
        found: list[AuthorizationInfo] = []
        for name in stores:
            store, rule = self.stores[name]
            with Attempt(store, by, "list", "authorization", at=at,
                         client_id=client_id) as use:
                use.decide(rule)
                store.refuse_destroyed(client_id, f"client {client_ref}'s authorizations")
                here = [info(a, use.at) for a in store.authorizations(client_id)]
                use.commit()
            found += sorted(here, key=lambda a: (a.signed_on, str(a.authorization_id)))
        return found

    def _change(self, authorization_id: UUID, by: str, action: Action, at: datetime,
                change: Callable[[Authorization, datetime], None]) -> AuthorizationInfo:
        at = utc(at)
        store, rule = next(((s, r) for s, r in self.stores.values()
                            if s.authorization(authorization_id) is not None),
                           (None, roles.AUTHORIZE))
        if store is None:
            raise NotFound(f"authorization {authorization_id} not found")

        def attempt() -> AuthorizationInfo:
            auth = store.get(Authorization, authorization_id,
                             f"authorization {authorization_id}")
            with Attempt(store, by, action, "authorization", at=at, client_id=auth.client_id,
                         object_id=auth.id) as use:
                use.decide(rule)
                change(auth, at)
                use.commit(auth)
            return info(auth, at)

        return retry_on_conflict(attempt)


def info(auth: Authorization, at: datetime) -> AuthorizationInfo:
    return AuthorizationInfo(
        authorization_id=auth.id, client_id=auth.client_id, scopes=auth.scopes,
        description=auth.description, discloser=auth.discloser, recipient=auth.recipient,
        recipient_type=auth.recipient_type, purpose=auth.purpose, expires=auth.expires,
        expiry_event=auth.expiry_event,
        signed_by=auth.signed_by, signed_on=auth.signed_on,
        representative_authority=auth.representative_authority,
        revoked_received=auth.revoked_received, expiry_event_on=auth.expiry_event_on,
        status=auth.status_at(at))
