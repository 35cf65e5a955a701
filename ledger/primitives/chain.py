"""The hash chain over a store's notification log: pure functions, no I/O.

A *leaf* commits to one stored event. Its data is, in this order: the notification id
(u64), the originator version (u64), the originator id (16 raw UUID bytes), the topic's
length (u32) and UTF-8 bytes, and the SHA-256 of the stored (encrypted) state; it is
hashed as an RFC 9162 leaf (prefix 0x00) so the same leaf hashes feed the Merkle tree.

The *chain* links leaves in notification order::

    chain[p] = SHA-256(CHAIN_PREFIX || u64(p) || chain[p-1] || leaf[p]),  chain[0] = GENESIS

where ``p`` counts chained events from 1 with no gaps (notification ids may have gaps
on PostgreSQL; positions never do).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from hashlib import sha256

from ledger.primitives.merkle import hash_leaf

CHAIN_PREFIX = b"ledger.chain.v1\x00"
GENESIS = bytes(32)

_HEADER = struct.Struct(">QQ")  # notification id, originator version
_U64 = struct.Struct(">Q")
_U32 = struct.Struct(">I")


def leaf_data(
    notification_id: int, originator_id: bytes, originator_version: int, topic: str, state: bytes
) -> bytes:
    """The canonical bytes a leaf commits to. ``originator_id`` is the 16 raw UUID bytes."""
    return leaf_data_of_digest(notification_id, originator_id, originator_version, topic,
                               sha256(state).digest())


def leaf_data_of_digest(notification_id: int, originator_id: bytes, originator_version: int,
                        topic: str, state_digest: bytes) -> bytes:
    """:func:`leaf_data` given the SHA-256 of the state (which a database may compute)."""
    if len(originator_id) != 16:
        raise ValueError("originator id must be 16 bytes")
    topic_bytes = topic.encode("utf-8")
    return b"".join(
        (
            _HEADER.pack(notification_id, originator_version),
            originator_id,
            _U32.pack(len(topic_bytes)),
            topic_bytes,
            state_digest,
        )
    )


def leaf_hash(
    notification_id: int, originator_id: bytes, originator_version: int, topic: str, state: bytes
) -> bytes:
    """RFC 9162 leaf hash (prefix 0x00) of :func:`leaf_data`."""
    return hash_leaf(leaf_data(notification_id, originator_id, originator_version, topic, state))


def leaf_hash_of_digest(notification_id: int, originator_id: bytes, originator_version: int,
                        topic: str, state_digest: bytes) -> bytes:
    """:func:`leaf_hash` given the SHA-256 of the state."""
    return hash_leaf(leaf_data_of_digest(notification_id, originator_id, originator_version,
                                         topic, state_digest))


def chain_hash(position: int, previous: bytes, leaf: bytes) -> bytes:
    """The chain value at ``position`` (1-based) given the previous chain value."""
    return sha256(CHAIN_PREFIX + _U64.pack(position) + previous + leaf).digest()


@dataclass(frozen=True)
class Head:
    """A chain head: the last position and the chain value there."""

    position: int
    chain: bytes
