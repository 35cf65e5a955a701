"""OpenID Connect bearer tokens: a JWT from the practice's identity provider proves a staff
member (the one module that imports the JOSE library, PyJWT).

A token is believed only if, in this order: its header names an algorithm of the allow-list
(``LEDGER_OIDC_ALGORITHMS``: public-key algorithms only, never ``none`` or HS*) and a key id
found in the provider's key set (:mod:`ledger.services.jwks`), with which it must fit; its
signature verifies with that key; its ``iss`` is the configured issuer and its ``aud``
includes the configured audience; it carries ``exp`` and ``iat`` (``nbf`` is checked when
present: many providers leave it out), and at the time passed in, within the leeway, it has
not expired, was not issued in the future and is already valid; and the staff claim
(``LEDGER_OIDC_STAFF_CLAIM``, default ``sub``) holds a well-formed staff id. Whether that
staff member is active is the authenticator's check. The times are checked here with the
``at`` passed in, not by PyJWT, which would read the clock.

The console's sign-in verifies its ID token here too, with its client id as the audience
and the ``nonce`` it sent, which the token must carry (OpenID Connect Core 3.1.3.7).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt

from ledger.display import shown
from ledger.identifiers import STAFF_ID
from ledger.services.jwks import JwksUnavailable, KeySource, reader
from ledger.settings import OidcSettings

# Three base64url parts; the signature may be empty (alg none: refused by the allow-list).
JWT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
MAX_JWT_CHARS = 16 * 1024
_JTI = re.compile(r"[!-~]{1,128}")
_PROBLEMS: list[tuple[type[Exception], str]] = [
    (jwt.InvalidSignatureError, "JWT signature does not verify"),
    (jwt.InvalidAudienceError, "JWT audience is not this service"),
    (jwt.InvalidIssuerError, "JWT issuer is not the configured one"),
    (jwt.InvalidAlgorithmError, "JWT algorithm does not fit its key"),
    (jwt.DecodeError, "malformed JWT"),
]


def looks_like_jwt(credential: str) -> bool:
    return len(credential) <= MAX_JWT_CHARS and JWT.fullmatch(credential) is not None


@dataclass(frozen=True)
class Verified:
    staff_id: str
    credential: str  # the token's jti, else a digest prefix: never the token


class OidcVerifier:
    def __init__(self, settings: OidcSettings, keys: KeySource | None = None) -> None:
        self.settings = settings
        self.keys = keys or KeySource(reader(settings.jwks))

    def verify(self, token: str, at: datetime, *, audience: str | None = None,
               nonce: str | None = None) -> Verified | str:
        """What ``token`` proves at ``at``; else why not (for the security event). Its
        audience is the configured one unless ``audience`` is given; with ``nonce``, its
        ``nonce`` claim must be that."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return "malformed JWT"
        alg, kid = header.get("alg"), header.get("kid")
        if not isinstance(alg, str) or alg not in self.settings.algorithms:
            return f"JWT algorithm {shown(alg, 20)} is not allowed"
        if not isinstance(kid, str):
            return "JWT without a key id"
        try:
            jwk = self.keys.key(kid, at)
        except JwksUnavailable as e:
            return f"no key set to verify a JWT: {e}"
        if jwk is None:
            return f"JWT key id {shown(kid, 40)} is not in the key set"
        claims = self._claims(token, jwk, alg, audience or self.settings.audience)
        if isinstance(claims, str):
            return claims
        why = _times(claims, at.timestamp(), self.settings.leeway)
        if why is not None:
            return why
        if nonce is not None and not _same(claims.get("nonce"), nonce):
            return "JWT nonce is not the one sent" if "nonce" in claims else \
                "JWT without the nonce claim"
        staff_id = claims.get(self.settings.staff_claim)
        if staff_id is None:
            return f"JWT without the {self.settings.staff_claim} claim"
        if not isinstance(staff_id, str) or not STAFF_ID.fullmatch(staff_id):
            return f"JWT {self.settings.staff_claim} claim is not a staff id"
        return Verified(staff_id, _credential(token, claims.get("jti")))

    def _claims(self, token: str, jwk: dict[str, Any], alg: str,
                audience: str) -> dict[str, Any] | str:
        if jwk.get("alg", alg) != alg or jwk.get("use", "sig") != "sig":
            return "JWT algorithm does not fit its key"
        try:
            key = jwt.PyJWK(jwk, algorithm=alg)
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            return "JWT algorithm does not fit its key"
        try:
            return jwt.decode(
                token, key, algorithms=[alg], audience=audience,
                issuer=self.settings.issuer,
                options={"require": ["exp", "iat", "iss", "aud"], "verify_exp": False,
                         "verify_nbf": False, "verify_iat": False})
        except jwt.MissingRequiredClaimError as e:
            return f"JWT without the {e.claim} claim"
        except jwt.PyJWTError as e:
            return next((why for kind, why in _PROBLEMS if isinstance(e, kind)), "invalid JWT")


def _times(claims: dict[str, Any], now: float, leeway: int) -> str | None:
    """Why the token is not valid at ``now`` (seconds since the epoch), if it is not."""
    for name in ("exp", "iat", "nbf"):
        value = claims.get(name)
        if name in claims and (isinstance(value, bool) or not isinstance(value, int | float)):
            return f"JWT {name} is not a number"
    if now >= claims["exp"] + leeway:
        return "expired JWT"
    if claims["iat"] > now + leeway:
        return "JWT issued in the future"
    if "nbf" in claims and now < claims["nbf"] - leeway:
        return "JWT not yet valid"
    return None


def _same(claim: object, expected: str) -> bool:
    return isinstance(claim, str) and hmac.compare_digest(claim.encode(), expected.encode())


def _credential(token: str, jti: object) -> str:
    if isinstance(jti, str) and _JTI.fullmatch(jti):
        return jti
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()[:32]
