"""The identity provider's key set: its shape is checked, it is kept for a while, reread
sooner when a token names a key id not in it but never more than once a minute, and a failed
reread keeps the keys already read. No test fetches anything: a file or a function reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ledger.services import jwks
from ledger.services.jwks import JwksUnavailable, KeySource

T0 = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
S = timedelta(seconds=1)


def document(*kids: str) -> bytes:
    return json.dumps({"keys": [{"kty": "EC", "crv": "P-256", "x": "x", "y": "y", "kid": k}
                                for k in kids]}).encode()


class Provider:
    """Serves the current key set and counts the reads."""

    def __init__(self, *kids: str) -> None:
        self.data: bytes | Exception = document(*kids)
        self.reads = 0

    def __call__(self) -> bytes:
        self.reads += 1
        if isinstance(self.data, Exception):
            raise self.data
        return self.data


@pytest.mark.parametrize(("data", "why"), [
    (b"<html>", "the JWKS is not JSON"),
    (b'{"kid": "a"}', "the JWKS has no list of keys"),
    (document("a", "a"), "the JWKS names a key id twice"),
    (b'{"keys": [{"kty": "RSA", "kid": "a", "n": "n", "e": "AQAB", "d": "secret"}]}',
     "the JWKS holds a private or secret key"),
    (b'{"keys": [{"kty": "oct", "kid": "a", "k": "c2VjcmV0"}]}',
     "the JWKS holds a private or secret key"),
])
def test_a_malformed_key_set_is_refused(data: bytes, why: str) -> None:
    with pytest.raises(JwksUnavailable, match=f"^{why}$"):
        jwks.parse(data)


def test_keys_without_a_key_id_are_left_out() -> None:
    data = b'{"keys": [{"kty": "EC"}, "junk", {"kty": "EC", "kid": "k1"}]}'
    assert list(jwks.parse(data)) == ["k1"]


def test_the_set_is_kept_and_reread_for_an_unknown_key_id_at_most_once_a_minute() -> None:
    provider = Provider("k1")
    source = KeySource(provider)
    assert source.key("k1", T0) is not None and provider.reads == 1
    assert source.key("k1", T0 + 299 * S) is not None and provider.reads == 1  # kept
    provider.data = document("k1", "k2")  # the provider rotates
    assert source.key("k2", T0 + 30 * S) is None and provider.reads == 1  # too soon
    assert [source.key(f"made-up-{i}", T0 + 40 * S) for i in range(50)] == [None] * 50
    assert provider.reads == 1  # made-up key ids cannot make it fetch on every request
    assert source.key("k2", T0 + 60 * S) is not None and provider.reads == 2
    provider.data = document("k3")
    assert source.key("k2", T0 + 300 * S) is not None and provider.reads == 2  # 5 minutes
    assert source.key("k3", T0 + 360 * S) is not None and provider.reads == 3  # reread


def test_a_failed_reread_keeps_the_keys_and_no_set_at_all_is_unavailable() -> None:
    provider = Provider("k1")
    source = KeySource(provider)
    source.key("k1", T0)
    provider.data = OSError("connection refused")
    assert source.key("k1", T0 + timedelta(hours=1)) is not None and provider.reads == 2
    fresh = KeySource(provider)
    with pytest.raises(JwksUnavailable, match=r"^the JWKS could not be fetched: OSError$"):
        fresh.key("k1", T0)


def test_a_file_is_read_bounded(tmp_path: Path) -> None:
    path = tmp_path / "jwks.json"
    path.write_bytes(document("k1"))
    assert KeySource(jwks.reader(str(path))).key("k1", T0) is not None
    path.write_bytes(b" " * (jwks.MAX_JWKS_BYTES + 1))
    with pytest.raises(JwksUnavailable, match=r"^the JWKS file is larger than 262144 bytes$"):
        KeySource(jwks.reader(str(path))).key("k1", T0)
    with pytest.raises(JwksUnavailable, match=r"^cannot read the JWKS file: No such file"):
        KeySource(jwks.reader(str(tmp_path / "missing.json"))).key("k1", T0)


def test_only_an_https_url_is_fetched() -> None:
    with pytest.raises(JwksUnavailable, match=r"^the JWKS URL must be https$"):
        jwks._fetch("http://idp.example/jwks")
