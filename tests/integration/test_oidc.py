"""OpenID Connect bearer tokens (issue 13): a JWT from the practice's identity provider
proves a staff member only if every check holds; the classic attacks each fail with their
own recorded reason. Tokens are minted here with local keys; the key set is a file."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ledger.aggregates.audit import AuditEntry
from ledger.bootstrap import Ledger, open_ledger
from ledger.errors import Unauthenticated
from ledger.settings import OidcSettings, Settings
from tests.conftest import all_events, seed

T0 = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
ISSUER, AUDIENCE = "https://idp.clinic.example/realms/staff", "ledger-api"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(key: Any, kid: str) -> dict[str, Any]:
    family = jwt.algorithms.RSAAlgorithm if isinstance(key, rsa.RSAPrivateKey) \
        else jwt.algorithms.ECAlgorithm
    return {**json.loads(family.to_jwk(key.public_key())), "kid": kid, "use": "sig"}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def claims(**changes: Any) -> dict[str, Any]:
    base = {"iss": ISSUER, "aud": AUDIENCE, "sub": "dr-lee", "jti": "jwt-0001",
            "iat": int(T0.timestamp()), "exp": int((T0 + timedelta(minutes=5)).timestamp())}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def mint(key: Any = RSA_KEY, alg: str = "RS256", kid: str = "rsa-1", **changes: Any) -> str:
    return jwt.encode(claims(**changes), key, algorithm=alg, headers={"kid": kid})


def unsigned(alg: str, kid: str = "rsa-1", sign: bytes | None = None, **changes: Any) -> str:
    """A token made by hand: ``alg`` as the attacker writes it, signed with HMAC-SHA256
    under ``sign`` (the public key, say) or not at all."""
    head = b64(json.dumps({"alg": alg, "kid": kid, "typ": "JWT"}).encode())
    body = b64(json.dumps(claims(**changes)).encode())
    signature = b"" if sign is None else hmac.new(sign, f"{head}.{body}".encode(),
                                                   hashlib.sha256).digest()
    return f"{head}.{body}.{b64(signature)}"


def tampered(**changes: Any) -> str:
    """A valid token whose payload was then changed (the signature kept)."""
    head, _, signature = mint().split(".")
    return f"{head}.{b64(json.dumps(claims(**changes)).encode())}.{signature}"


@pytest.fixture
def oidc_lg(settings: Settings, tmp_path: Path) -> Iterator[Ledger]:
    """The ledger on every durable backend, its service configured for OpenID Connect."""
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [public_jwk(RSA_KEY, "rsa-1"),
                                         public_jwk(EC_KEY, "ec-1")]}))
    oidc = OidcSettings(issuer=ISSUER, audience=AUDIENCE, jwks=str(jwks),
                        delegates=frozenset({"ehr"}))
    with open_ledger(replace(settings, oidc=oidc)) as opened:
        seed(opened, T0)
        opened.staff.add("ehr", "EHR integration", "front-desk", by="admin", at=T0)
        yield opened


def failures(lg: Ledger) -> list[str | None]:
    return [e.reason for e in all_events(lg.main)
            if isinstance(e, AuditEntry.Recorded) and e.action == "authenticate"]


def test_a_valid_token_proves_its_staff_member(oidc_lg: Ledger) -> None:
    for token in (mint(), mint(EC_KEY, "ES256", "ec-1", jti=None)):
        principal = oidc_lg.authenticator.authenticate(f"Bearer {token}", source="10.0.0.5",
                                                       at=T0 + timedelta(minutes=1))
        assert (principal.staff_id, principal.method, principal.via) == ("dr-lee", "oidc", None)
    assert principal.credential.startswith("sha256:") and len(principal.credential) == 39
    assert oidc_lg.authenticator.authenticate(f"Bearer {mint()}", source="x",
                                              at=T0).credential == "jwt-0001"
    assert failures(oidc_lg) == []


PUBLIC_PEM = RSA_KEY.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
ATTACKS = [
    ("alg none", lambda: unsigned("none"), r"JWT algorithm 'none' is not allowed"),
    ("HS256 keyed with the public key", lambda: unsigned("HS256", sign=PUBLIC_PEM),
     r"JWT algorithm 'HS256' is not allowed"),
    ("wrong audience", lambda: mint(aud="another-api"), r"JWT audience is not this service"),
    ("wrong issuer", lambda: mint(iss="https://evil.example"),
     r"JWT issuer is not the configured one"),
    ("expired", lambda: mint(exp=int(T0.timestamp()) - 31), r"expired JWT"),
    ("not yet valid", lambda: mint(nbf=int(T0.timestamp()) + 31), r"JWT not yet valid"),
    ("issued in the future", lambda: mint(iat=int(T0.timestamp()) + 31),
     r"JWT issued in the future"),
    ("unknown kid", lambda: mint(kid="rsa-9"), r"JWT key id 'rsa-9' is not in the key set"),
    ("no kid", lambda: jwt.encode(claims(), RSA_KEY, algorithm="RS256"),
     r"JWT without a key id"),
    ("another key under a known kid", lambda: mint(OTHER_KEY),
     r"JWT signature does not verify"),
    ("tampered payload", lambda: tampered(sub="admin"), r"JWT signature does not verify"),
    ("an RSA algorithm on the EC key", lambda: mint(kid="ec-1"),
     r"JWT algorithm does not fit its key"),
    ("unknown staff id", lambda: mint(sub="ghost"), r"JWT of ghost, not an active staff member"),
    ("missing staff claim", lambda: mint(sub=None), r"JWT without the sub claim"),
    ("a staff claim that is no staff id", lambda: mint(sub="dr lee\n"),
     r"JWT sub claim is not a staff id"),
    ("missing exp", lambda: mint(exp=None), r"JWT without the exp claim"),
    ("missing iat", lambda: mint(iat=None), r"JWT without the iat claim"),
    ("exp not a number", lambda: mint(exp="tomorrow"), r"JWT exp is not a number"),
    ("not a JWT", lambda: "eyJhbGciOi.eyJzdWIi.c2ln", r"malformed JWT"),
]


@pytest.mark.parametrize(("make", "why"), [(m, w) for _, m, w in ATTACKS],
                         ids=[name for name, _, _ in ATTACKS])
def test_each_attack_is_a_recorded_failure(oidc_lg: Ledger, make: Any, why: str) -> None:
    token = make()
    with pytest.raises(Unauthenticated, match=f"^{why}$"):
        oidc_lg.authenticator.authenticate(f"Bearer {token}", source="203.0.113.9", at=T0)
    assert failures(oidc_lg) == [f"{why} (from 203.0.113.9)"]
    secrets = [token, *([token.split(".")[-1]] if token.split(".")[-1] else [])]
    assert not [r for r in failures(oidc_lg) for s in secrets if r and s in r]


def test_the_leeway_is_thirty_seconds(oidc_lg: Ledger) -> None:
    now = int(T0.timestamp())
    for token in (mint(exp=now - 29), mint(nbf=now + 29), mint(iat=now + 29)):
        assert oidc_lg.authenticator.authenticate(f"Bearer {token}", source="x",
                                                  at=T0).staff_id == "dr-lee"


def test_a_deactivated_staff_member_is_refused(oidc_lg: Ledger) -> None:
    oidc_lg.staff.deactivate("dr-lee", by="admin", at=T0)
    with pytest.raises(Unauthenticated, match=r"^JWT of dr-lee, not an active staff member$"):
        oidc_lg.authenticator.authenticate(f"Bearer {mint()}", source="x", at=T0)


def test_only_a_configured_delegate_acts_for_an_end_user(oidc_lg: Ledger) -> None:
    """A claim in the token is not believed: the operator lists the delegates."""
    service = mint(sub="ehr", jti="svc-1")
    principal = oidc_lg.authenticator.authenticate(f"Bearer {service}", source="10.1.1.1",
                                                   at=T0, on_behalf_of="dr-kim")
    assert (principal.staff_id, principal.via, principal.method, principal.credential) == (
        "dr-kim", "ehr", "oidc", "svc-1")
    claimed = mint(sub="desk", ledger_delegate=True, scope="system/*.read delegate")
    with pytest.raises(Unauthenticated, match=r"^desk may not act for others$"):
        oidc_lg.authenticator.authenticate(f"Bearer {claimed}", source="x", at=T0,
                                           on_behalf_of="dr-kim")
    assert oidc_lg.authenticator.authenticate(f"Bearer {claimed}", source="x",
                                              at=T0).staff_id == "desk"


def test_a_jwt_without_oidc_configured_is_a_recorded_failure(lg: Ledger) -> None:
    seed(lg, T0)
    with pytest.raises(Unauthenticated,
                       match=r"^a JWT, but OpenID Connect is not configured$"):
        lg.authenticator.authenticate(f"Bearer {mint()}", source="x", at=T0)
    assert failures(lg) == ["a JWT, but OpenID Connect is not configured (from x)"]
