"""A fake OpenID Connect identity provider for tests: a threaded ``http.server`` on
127.0.0.1 at a free port, with an authorization endpoint and a token endpoint.

``/authorize`` remembers what the client asked (redirect URI, challenge, nonce) under a new
one-time code and redirects back with that code and the ``state``. ``/token`` checks what a
real provider checks (grant type, client id, client secret, redirect URI, a code not used
before, and that ``BASE64URL(SHA256(code_verifier))`` is the challenge it saw), then returns
an ID token signed with a test RSA key whose public JWK is in :meth:`FakeIdp.jwks`. What the
token says can be changed per test (``claims``) to play a dishonest or mistaken provider.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KID = "idp-rsa-1"


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    method: str
    nonce: str | None


@dataclass
class FakeIdp:
    client_id: str
    secret: str | None = None  # a confidential client's secret, else a public client
    staff_id: str = "dr-lee"
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    claims: dict[str, Any] = field(default_factory=dict)  # added to (None: removed from) it
    base: str = ""
    issuer: str = ""
    # Whether /authorize shows a sign-in page whose form the person submits, as a real
    # provider does (the way back is then a navigation the provider's page started).
    login_page: bool = False
    # What /token answers instead, as is (status, headers, body): a broken provider.
    raw_token_answer: tuple[int, dict[str, str], bytes] | None = None
    grants: dict[str, Grant] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)

    @property
    def authorize_url(self) -> str:
        return f"{self.base}/authorize"

    @property
    def token_url(self) -> str:
        return f"{self.base}/token"

    @staticmethod
    def jwks() -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key()))
        return {"keys": [{**public, "kid": KID, "use": "sig", "alg": "RS256"}]}

    def page(self, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        fields = "".join(f'<input type="hidden" name="{html.escape(k)}" '
                         f'value="{html.escape(v)}">' for k, v in query.items())
        body = (f'<!doctype html><html lang="en"><title>Fake provider</title><main>'
                f'<form method="post" action="/authorize">{fields}'
                f'<button type="submit">Sign in as {html.escape(self.staff_id)}</button>'
                f'</form></main></html>')
        return 200, {"Content-Type": "text/html; charset=utf-8"}, body.encode()

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if query.get("response_type") != "code" or query.get("client_id") != self.client_id:
            return 400, {}, b"unknown client or response type"
        code = secrets.token_urlsafe(16)
        self.grants[code] = Grant(query["client_id"], query.get("redirect_uri", ""),
                                  query.get("code_challenge", ""),
                                  query.get("code_challenge_method", ""), query.get("nonce"))
        back = urlencode({"code": code, "state": query.get("state", "")})
        return 302, {"Location": f"{query.get('redirect_uri', '')}?{back}"}, b""

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.token_requests.append(form)
        if form.get("grant_type") != "authorization_code":
            return 400, {"error": "unsupported_grant_type"}
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.secret:
            return 401, {"error": "invalid_client"}
        grant = self.grants.pop(form.get("code", ""), None)  # a code is used once
        if grant is None or grant.redirect_uri != form.get("redirect_uri"):
            return 400, {"error": "invalid_grant"}
        verifier = form.get("code_verifier", "")
        made = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        if grant.method != "S256" or made.decode().rstrip("=") != grant.challenge:
            return 400, {"error": "invalid_grant", "error_description": "PKCE"}
        return 200, {"access_token": "at-" + secrets.token_urlsafe(8), "token_type": "Bearer",
                     "expires_in": 300, "id_token": self.id_token(grant)}

    def id_token(self, grant: Grant) -> str:
        now = self.clock()
        claims: dict[str, Any] = {
            "iss": self.issuer, "aud": grant.client_id, "sub": self.staff_id,
            "nonce": grant.nonce, "iat": int(now.timestamp()),
            "exp": int((now + timedelta(minutes=5)).timestamp()),
            "jti": "idt-" + secrets.token_hex(8)}
        claims.update(self.claims)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(claims, KEY, algorithm="RS256", headers={"kid": KID})


def _handler(idp: FakeIdp) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path != "/authorize":
                self._send(404, {}, b"")
                return
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            self._send(*(idp.page(query) if idp.login_page else idp.authorize(query)))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode()
            if urlsplit(self.path).path == "/authorize":  # the sign-in page's form
                self._send(*idp.authorize({k: v[0] for k, v in parse_qs(body).items()}))
                return
            if urlsplit(self.path).path != "/token":
                self._send(404, {}, b"")
                return
            status, answer = idp.token({k: v[0] for k, v in parse_qs(body).items()})
            if idp.raw_token_answer is not None:
                self._send(*idp.raw_token_answer)
                return
            self._send(status, {"Content-Type": "application/json"},
                       json.dumps(answer).encode())

        def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(body))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@contextmanager
def running(idp: FakeIdp, host: str = "127.0.0.1") -> Iterator[FakeIdp]:
    """``idp`` served on 127.0.0.1 at a free port until the block ends; its URLs name
    ``host`` (``localhost``: another site than 127.0.0.1, for a browser)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(idp))
    idp.base = f"http://{host}:{server.server_address[1]}"
    idp.issuer = idp.issuer or idp.base
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield idp
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
