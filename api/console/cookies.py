"""What the console keeps in the browser, and how it is checked.

The session cookie is ``SECRET.LAST.MAC``: the session's secret (its record holds only a
digest, :mod:`ledger.aggregates.console_session`), the time of the session's last request
(whole seconds since the epoch, for the automatic logoff), and an HMAC-SHA256 of both under
the console key (:mod:`ledger.keys.console`), so neither the browser nor anyone with the
database can move the last request later. Before signing in, the browser holds a random
pre-session value instead, and the sign-in form's anti-forgery token is bound to it; once
signed in, every form's token is bound to the session's secret. Tokens are HMACs, compared
in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

SESSION = "ledger_console"
PRE_SESSION = "ledger_console_pre"
_VALUE = re.compile(r"([A-Za-z0-9_-]{20,100})\.([0-9]{1,12})\.([0-9a-f]{64})")
_PRE = re.compile(r"[A-Za-z0-9_-]{20,100}")


@dataclass(frozen=True)
class SessionCookie:
    secret: str
    last_seen: int  # seconds since the epoch


class CookieKey:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def __repr__(self) -> str:  # never the key
        return "CookieKey(...)"

    def _mac(self, purpose: str, *parts: str) -> str:
        message = "\x00".join((purpose, *parts)).encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def session_value(self, secret: str, last_seen: int) -> str:
        return f"{secret}.{last_seen}.{self._mac('session', secret, str(last_seen))}"

    def read_session(self, value: str | None) -> SessionCookie | str | None:
        """The cookie's session; None if there is none; a string saying why a cookie
        that is there fails its check (for the security event)."""
        if not value:
            return None
        found = _VALUE.fullmatch(value)
        if found is None:
            return "a malformed console session cookie"
        secret, last_seen, mac = found.groups()
        if not hmac.compare_digest(mac, self._mac("session", secret, last_seen)):
            return "a console session cookie that fails its check"
        return SessionCookie(secret, int(last_seen))

    def form_token(self, bound_to: str) -> str:
        """The anti-forgery token of the forms shown to the holder of ``bound_to`` (the
        session's secret, or the pre-session value)."""
        return self._mac("form", bound_to)

    def form_token_ok(self, bound_to: str | None, token: str | None) -> bool:
        if not bound_to or not token:
            return False
        return hmac.compare_digest(token.encode(), self.form_token(bound_to).encode())


def new_pre_session() -> str:
    return secrets.token_urlsafe(24)


def pre_session_ok(value: str | None) -> str | None:
    return value if value is not None and _PRE.fullmatch(value) else None
