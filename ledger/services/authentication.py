"""Authenticating a caller of the HTTP service: the credential presented is verified, and
what it proves is a :class:`~ledger.views.Principal`. Nothing the caller merely states
(a staff id, a role) is believed.

Accepted: ``Authorization: Bearer <credential>``, where the credential is a staff token
(``lgst_...``, ``ledger staff token issue``) or, when configured, an OpenID Connect JWT from
the practice's identity provider (:mod:`ledger.services.oidc`). A service principal that may
delegate (a staff token issued with ``--delegate``, or a JWT whose staff id is listed in
``LEDGER_OIDC_DELEGATES``; never a claim in the token) may name the end user it acts for
(``on_behalf_of``): the principal is then that user, reached ``via`` the service, and every
event records both (IHE BALP's agent model); any other credential acts only as itself.

Every failure is a recorded security event (the presented secret is never stored) and raises
:class:`~ledger.errors.Unauthenticated`, whose message is for that event only. A source that
keeps failing is throttled (:mod:`ledger.services.throttle`): its attempts raise
:class:`~ledger.errors.Throttled` unrecorded, and one event records each cool-down.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import NoReturn

from ledger.aggregates.audit import AuditEntry
from ledger.aggregates.base import Actor, Agent, acting_as, acting_through, utc
from ledger.display import escape
from ledger.errors import Unauthenticated
from ledger.identifiers import check_staff_id
from ledger.services.audited import proven
from ledger.services.oidc import OidcVerifier, looks_like_jwt
from ledger.services.throttle import Throttle
from ledger.services.tokens import PREFIX, Tokens
from ledger.stores.main import MainStore
from ledger.views import Principal

UNKNOWN = Actor(id="unauthenticated", role="unknown")
MAX_SOURCE_CHARS = 100


class Authenticator:
    def __init__(self, main: MainStore, tokens: Tokens, *, oidc: OidcVerifier | None = None,
                 throttle: Throttle | None = None) -> None:
        self.main = main
        self.tokens = tokens
        self.oidc = oidc
        self.throttle = throttle or Throttle()

    def authenticate(self, authorization: str | None, *, source: str, at: datetime,
                     on_behalf_of: str | None = None) -> Principal:
        """The principal the ``Authorization`` header proves (acting for ``on_behalf_of``
        if the credential may delegate), else a recorded failure; :class:`Throttled` while
        ``source`` cools down after repeated failures."""
        at = utc(at)
        source = escape(source[:MAX_SOURCE_CHARS])
        self.throttle.check(source, at)
        try:
            principal = self._authenticate(authorization, source, at, on_behalf_of)
        except Unauthenticated:
            self._count(source, at)
            raise
        self.throttle.succeeded(source)
        return principal

    def failed(self, why: str, *, source: str, at: datetime) -> None:
        """Record a failure a front end found itself (a console cookie that fails its
        check, a form without its anti-forgery token, an OpenID Connect sign-in that did
        not complete), counted against ``source`` like any other."""
        at = utc(at)
        source = escape(source[:MAX_SOURCE_CHARS])
        self.throttle.check(source, at)
        self._record(why, source, at)
        self._count(source, at)

    def succeeded(self, source: str) -> None:
        self.throttle.succeeded(escape(source[:MAX_SOURCE_CHARS]))

    def _count(self, source: str, at: datetime) -> None:
        cooldown = self.throttle.failed(source, at)
        if cooldown is not None:
            self._record(f"throttled: {self.throttle.limit} failed authentications within "
                         f"{int(self.throttle.window.total_seconds())} s; refused for "
                         f"{int(cooldown.total_seconds())} s", source, at)

    def _authenticate(self, authorization: str | None, source: str, at: datetime,
                      on_behalf_of: str | None) -> Principal:
        scheme, _, credential = (authorization or "").partition(" ")
        credential = credential.strip()
        if not authorization:
            self._fail("no credential", source, at)
        if scheme.lower() != "bearer" or not credential:
            self._fail("unsupported authorization scheme", source, at)
        principal, may_delegate = self._verify(credential, source, at)
        if on_behalf_of is None:
            return principal
        if not may_delegate:
            self._fail(f"{principal.staff_id} may not act for others", source, at)
        end_user = self.main.staff_view(check_staff_id(on_behalf_of))
        if end_user is None or not end_user.active:
            self._fail(f"{principal.staff_id} named an unknown or deactivated end user",
                       source, at)
        return Principal(end_user.staff_id, principal.method, principal.credential,
                         via=principal.staff_id, role=end_user.role)

    def _verify(self, credential: str, source: str, at: datetime) -> tuple[Principal, bool]:
        """The principal a bearer credential proves, and whether it may delegate."""
        if credential.startswith(PREFIX) or not looks_like_jwt(credential):
            verified = self.tokens.verify(credential, at)
            if isinstance(verified, str):
                self._fail(verified, source, at)
            principal, record = verified
            return principal, record.delegate
        if self.oidc is None:
            self._fail("a JWT, but OpenID Connect is not configured", source, at)
        proved = self.oidc.verify(credential, at)
        if isinstance(proved, str):
            self._fail(proved, source, at)
        staff = self.main.staff_view(proved.staff_id)
        if staff is None or not staff.active:
            self._fail(f"JWT of {proved.staff_id}, not an active staff member", source, at)
        return (Principal(staff.staff_id, "oidc", proved.credential, role=staff.role),
                staff.staff_id in self.oidc.settings.delegates)

    def _fail(self, why: str, source: str, at: datetime) -> NoReturn:
        """Record the failed authentication (why, and from where; never the secret)."""
        self._record(why, source, at)
        raise Unauthenticated(why)

    def _record(self, why: str, source: str, at: datetime) -> None:
        with acting_as(UNKNOWN):
            self.main.save(AuditEntry.record(
                action="authenticate", outcome="denied", purpose=None, object_type="session",
                object_id=None, client_id=None, version=None,
                reason=f"{why} (from {source})", break_glass=False, at=at))


@contextmanager
def acting_for(principal: Principal) -> Iterator[Agent]:
    """Inside, every event records the service principal the call came through, if any,
    and an attempt by the principal takes their role as authentication read it."""
    with acting_through(Agent(via=principal.via)) as agent, proven(principal):
        yield agent
