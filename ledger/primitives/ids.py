"""Identifiers: the 16 raw bytes of an originator id, however a driver returns it; ids
derived from names, public (UUIDv5) or keyed (HMAC-SHA256 as a UUIDv8)."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5


def uuid_bytes(value: Any) -> bytes:
    """A UUID, 16 raw bytes, or a UUID's text as bytes (some drivers): the 16 raw bytes."""
    if isinstance(value, UUID):
        return value.bytes
    raw = bytes(value)
    return raw if len(raw) == 16 else UUID(raw.decode()).bytes


# Deterministic ids for objects named by people (staff ids, client ids), so that a name
# can be looked up without an index. The namespace is fixed forever: stored ids depend on it.
LEDGER_NAMESPACE = uuid5(NAMESPACE_URL, "urn:ledger:v1")


def named_id(kind: str, name: str) -> UUID:
    return uuid5(LEDGER_NAMESPACE, f"{kind}:{name}")


def legacy_client_id(client_ref: str) -> UUID:
    """The client id of stores made before the pseudonym secret (UUIDv5 of the practice's
    id). Anyone can recompute it, so enumerating candidate references reverses it: new
    stores use :func:`keyed_id` (``ledger.keys.pseudonyms``)."""
    return named_id("client", client_ref)


def keyed_id(secret: bytes, kind: str, name: str) -> UUID:
    """A UUIDv8 (RFC 9562, custom) from HMAC-SHA256(secret, "<kind>:<name>") truncated to
    128 bits, with the version and variant bits set: without the secret it can be neither
    recomputed nor reversed by enumerating names."""
    digest = bytearray(hmac.new(secret, f"{kind}:{name}".encode(), hashlib.sha256).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x80  # version 8
    digest[8] = (digest[8] & 0x3F) | 0x80  # variant 10 (RFC 9562)
    return UUID(bytes=bytes(digest))
