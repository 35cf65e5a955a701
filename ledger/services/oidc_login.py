"""The console's sign-in with the practice's identity provider: OpenID Connect's
authorization-code flow with PKCE (RFC 7636, method S256), no web framework.

:meth:`OidcSignIn.begin` makes a sign-in attempt: three 256-bit random values (``state``
against cross-site request forgery, ``nonce`` against a replayed ID token, the PKCE
``code_verifier`` against a stolen code) and the provider's authorization URL, which carries
``state``, ``nonce`` and ``BASE64URL(SHA256(code_verifier))``. The front end keeps the attempt
(:class:`Pending`) for the browser and sends the browser to that URL.

:meth:`OidcSignIn.finish` takes the provider's answer at the callback: the ``state`` must be
the attempt's, the attempt younger than 10 minutes and not finished before (in this process:
an attempt is used once); the code is exchanged at the token
endpoint with the verifier (and the client secret of a confidential client); the ID token
returned must verify like an API bearer token (:class:`~ledger.services.oidc.OidcVerifier`:
algorithm, key, signature, issuer, times, staff claim), with the client id as its audience
and the attempt's ``nonce``. It returns what the token proves or why not, for the security
event: never the code or a token. Whether that staff member is active is the
authenticator's check. Time is passed in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import stat
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol
from urllib.parse import urlencode, urlsplit

from ledger.display import shown
from ledger.errors import KeyMaterialError
from ledger.limits import KEY_FILE_BYTES, read_file
from ledger.services.oidc import OidcVerifier, Verified, looks_like_jwt
from ledger.settings import ConsoleOidcSettings

PENDING_TTL = timedelta(minutes=10)
# The error codes a provider may send back (RFC 6749 4.1.2.1, OpenID Connect Core 3.1.2.6);
# any other text is recorded as "another error", never as sent.
PROVIDER_ERRORS = frozenset({
    "invalid_request", "unauthorized_client", "access_denied", "unsupported_response_type",
    "invalid_scope", "server_error", "temporarily_unavailable", "interaction_required",
    "login_required", "account_selection_required", "consent_required",
    "invalid_request_uri", "invalid_request_object", "request_not_supported",
    "request_uri_not_supported", "registration_not_supported"})
TOKEN_TIMEOUT_SECONDS = 10
MAX_TOKEN_RESPONSE_BYTES = 64 * 1024  # an ID token and an access token: a few kilobytes
MAX_CODE_CHARS = 2048
RANDOM_BYTES = 32  # 256 bits each for state, nonce and code_verifier
MAX_REMEMBERED = 10_000  # finished attempts remembered (for 10 minutes) against a replay

# How the token endpoint is asked: (url, form) -> (HTTP status, body), or NoIdToken.
Post = Callable[[str, dict[str, str]], tuple[int, bytes]]


class NoIdToken(Exception):
    """The token endpoint gave no ID token (why, for the security event)."""


@dataclass(frozen=True)
class Pending:
    """A sign-in attempt, kept for the browser that began it until the callback."""

    state: str
    nonce: str
    verifier: str  # the PKCE code_verifier (43 base64url characters)
    started_at: datetime


def challenge(verifier: str) -> str:
    """The PKCE S256 code_challenge: BASE64URL(SHA256(ASCII(code_verifier)))."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


class OidcSignIn:
    def __init__(self, settings: ConsoleOidcSettings, verifier: OidcVerifier, *,
                 post: Post | None = None) -> None:
        self.settings = settings
        self.verifier = verifier
        self._post = post or _post
        self._secret = (read_secret(settings.client_secret_file)
                        if settings.client_secret_file is not None else None)
        self._finished: dict[str, datetime] = {}  # state -> when finished, oldest first
        self._lock = threading.Lock()

    def begin(self, at: datetime) -> tuple[str, Pending]:
        """The provider's authorization URL for a new attempt, and the attempt."""
        pending = Pending(state=_random(), nonce=_random(), verifier=_random(), started_at=at)
        query = urlencode({
            "response_type": "code", "client_id": self.settings.client_id,
            "redirect_uri": self.settings.redirect_uri, "scope": "openid",
            "state": pending.state, "nonce": pending.nonce,
            "code_challenge": challenge(pending.verifier), "code_challenge_method": "S256"})
        base = self.settings.authorize_url
        return f"{base}{'&' if urlsplit(base).query else '?'}{query}", pending

    def finish(self, pending: Pending, *, code: str | None, state: str | None,
               at: datetime, error: str | None = None) -> Verified | str:
        """What the provider's answer at the callback proves; else why not."""
        if state is None or not hmac.compare_digest(state.encode(), pending.state.encode()):
            return "sign-in state does not match the attempt"
        if at - pending.started_at >= PENDING_TTL:
            return "sign-in attempt older than 10 minutes"
        if not self._first_finish(pending, at):
            return "sign-in attempt already used"
        if error is not None:
            known = error if error in PROVIDER_ERRORS else "another error"
            return f"the identity provider answered {known}"
        if not code or len(code) > MAX_CODE_CHARS:
            return "the identity provider sent no authorization code"
        form = {"grant_type": "authorization_code", "code": code,
                "redirect_uri": self.settings.redirect_uri,
                "client_id": self.settings.client_id, "code_verifier": pending.verifier}
        if self._secret is not None:
            form["client_secret"] = self._secret
        try:
            id_token = self._exchange(form)
        except NoIdToken as e:
            return str(e)
        return self.verifier.verify(id_token, at, audience=self.settings.client_id,
                                    nonce=pending.nonce)

    def _first_finish(self, pending: Pending, at: datetime) -> bool:
        """Whether ``pending`` is finished for the first time. It is remembered for 10
        minutes, after which its age refuses it anyway; past :data:`MAX_REMEMBERED` the
        oldest is forgotten first (the provider still refuses a code used twice)."""
        finished = self._finished
        with self._lock:
            while finished and at - next(iter(finished.values())) >= PENDING_TTL:
                del finished[next(iter(finished))]
            if pending.state in finished:
                return False
            while len(finished) >= MAX_REMEMBERED:
                del finished[next(iter(finished))]
            finished[pending.state] = at
            return True

    def _exchange(self, form: dict[str, str]) -> str:
        """The ID token the token endpoint gives for the code (:class:`NoIdToken`: why
        not)."""
        status, body = self._post(self.settings.token_url, form)
        try:
            answer = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            answer = None
        if not isinstance(answer, dict):
            raise NoIdToken(f"the token endpoint answered HTTP {status} without a JSON object")
        if status != 200:
            raise NoIdToken(f"the token endpoint refused the code (HTTP {status}): "
                            f"{shown(answer.get('error'), 40)}")
        id_token = answer.get("id_token")
        if not isinstance(id_token, str) or not looks_like_jwt(id_token):
            raise NoIdToken("the token endpoint's answer has no ID token")
        return id_token


def _random() -> str:
    return secrets.token_urlsafe(RANDOM_BYTES)


def read_secret(path: Path) -> str:
    """A confidential client's secret: the first line of a file only its owner may read."""
    if not path.exists():
        raise KeyMaterialError(f"the console's client secret file {path} does not exist")
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyMaterialError(f"the console's client secret file {path} is accessible to "
                               "other users; chmod 600 it")
    data = read_file(path, KEY_FILE_BYTES, f"the console's client secret file {path}",
                     KeyMaterialError)
    try:
        secret = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        secret = ""
    if not secret or "\n" in secret:
        raise KeyMaterialError(f"the console's client secret file {path} must hold one line "
                               "of text")
    return secret


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A token endpoint answers; it never sends the code and secret elsewhere."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class _Readable(Protocol):
    def read(self, n: int, /) -> bytes: ...


def _post(url: str, form: dict[str, str]) -> tuple[int, bytes]:
    parts = urlsplit(url)  # the settings allow no other: checked again before sending
    if not (parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in (
            "127.0.0.1", "localhost", "::1"))):
        raise NoIdToken("the token endpoint must be an https URL")
    request = urllib.request.Request(  # noqa: S310
        url, data=urlencode(form).encode("ascii"), method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded",
                 "Accept": "application/json"})
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=TOKEN_TIMEOUT_SECONDS) as response:
            return response.status, _bounded(response)
    except urllib.error.HTTPError as e:  # 4xx, 5xx, a refused redirect: read its body
        try:
            return e.code, _bounded(e)
        finally:
            e.close()
    except (OSError, ValueError) as e:  # refused, unreachable, timed out, bad TLS
        raise NoIdToken(f"the token endpoint could not be reached: {type(e).__name__}") \
            from None


def _bounded(response: _Readable) -> bytes:
    data = response.read(MAX_TOKEN_RESPONSE_BYTES + 1)
    if len(data) > MAX_TOKEN_RESPONSE_BYTES:
        raise NoIdToken(f"the token endpoint's answer is larger than "
                          f"{MAX_TOKEN_RESPONSE_BYTES} bytes")
    return data
