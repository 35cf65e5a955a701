"""The keyed client-id derivation (issue 12, defect 5): a UUIDv8 from HMAC-SHA256, different
for every secret, and never the public UUIDv5."""

from __future__ import annotations

import hashlib
import hmac
from uuid import UUID

import pytest

from ledger.errors import KeyMaterialError
from ledger.keys.pseudonyms import LEGACY, Pseudonyms
from ledger.primitives.ids import legacy_client_id

SECRET = bytes(range(32))


def test_a_keyed_id_is_the_truncated_hmac_as_a_uuid8() -> None:
    """Against a naive twin: the first 16 bytes of HMAC-SHA256(secret, "client:<ref>"),
    version nibble 8 and RFC 9562 variant bits set, nothing else changed."""
    digest = hmac.new(SECRET, b"client:C-1001", hashlib.sha256).digest()[:16]
    value = int.from_bytes(digest, "big")
    value = (value & ~(0xF << 76)) | (0x8 << 76)
    value = (value & ~(0x3 << 62)) | (0x2 << 62)
    client_id = Pseudonyms(SECRET).client_id("C-1001")
    assert client_id == UUID(int=value)
    assert (client_id.version, client_id.variant) == (8, "specified in RFC 4122")


def test_ids_depend_on_the_secret_and_the_reference() -> None:
    keyed, other = Pseudonyms(SECRET), Pseudonyms(bytes(32))
    assert keyed.client_id("C-1") != other.client_id("C-1")
    assert keyed.client_id("C-1") != keyed.client_id("C-2")
    assert keyed.client_id("C-1") != legacy_client_id("C-1")
    assert keyed.check_value != other.check_value
    assert LEGACY.client_id("C-1") == legacy_client_id("C-1") and not LEGACY.keyed


def test_the_secret_is_never_shown_and_must_be_32_bytes() -> None:
    assert repr(Pseudonyms(SECRET)) == "Pseudonyms(keyed)"
    assert SECRET.hex() not in Pseudonyms(SECRET).check_value
    with pytest.raises(KeyMaterialError, match=r"^a pseudonym secret must be 32 bytes$"):
        Pseudonyms(b"short")
