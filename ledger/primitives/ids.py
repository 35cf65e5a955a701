"""Identifier bytes: the 16 raw bytes of an originator id, however a driver returns it."""

from __future__ import annotations

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


def client_id(client_ref: str) -> UUID:
    """The derived id audit metadata uses for a client (UUIDv5 of the practice's id)."""
    return named_id("client", client_ref)
