"""A mapper that seals each event's state under the data key of the event's subject.

Events whose class names a subject attribute (``sealed_under``) are sealed under that
subject's data key, so destroying the key shreds them. Every other event is audit
metadata, sealed under the store's never-destroyed audit key. The associated data
binds each ciphertext to its originator id, version and topic, so ciphertexts cannot
be swapped between rows.

Stored state layout: ``FORMAT (1 byte) || key id (16 bytes) || nonce || ciphertext || tag``.
"""

from __future__ import annotations

import struct
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import (
    Mapper,
    MapperDeserialisationError,
    StoredEvent,
    Transcoder,
)
from eventsourcing.utils import get_topic, resolve_topic

from ledger.errors import ContentDestroyed
from ledger.keys.keyring import AUDIT_SUBJECT, KeyRing
from ledger.primitives.crypto import CryptoError

FORMAT = b"\x01"
_HEADER = 1 + 16


class StateUnreadable(MapperDeserialisationError):
    """The stored state cannot be opened (altered, or under an unknown key)."""


class ContentShredded(MapperDeserialisationError):
    """The stored state's data key was destroyed."""


def subject_of(event: object) -> str:
    """The key subject an event is sealed under."""
    attribute = getattr(type(event), "sealed_under", None)
    if attribute is None:
        return AUDIT_SUBJECT
    return f"subject:{getattr(event, attribute)}"


def sealed_key_id(state: bytes) -> UUID | None:
    """The id of the data key a stored state is sealed under (None: not this format)."""
    if len(state) < _HEADER or state[:1] != FORMAT:
        return None
    return UUID(bytes=bytes(state[1:_HEADER]))


def associated_data(originator_id: UUID, version: int, topic: str) -> bytes:
    return originator_id.bytes + struct.pack(">Q", version) + topic.encode("utf-8")


class SealingMapper(Mapper[UUID]):
    def __init__(self, transcoder: Transcoder, keyring: KeyRing) -> None:
        super().__init__(transcoder=transcoder)
        self.keyring = keyring

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        topic = get_topic(domain_event.__class__)
        event_state = dict(vars(domain_event))
        originator_id = cast(UUID, event_state.pop("originator_id"))
        originator_version = cast(int, event_state.pop("originator_version"))
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            event_state["class_version"] = class_version
        plain = self.transcoder.encode(event_state)
        at = cast(datetime, event_state["timestamp"])
        key_id = self.keyring.ensure_key(subject_of(domain_event), at)
        sealed = self.keyring.sealer(key_id).seal(
            plain, associated_data(originator_id, originator_version, topic)
        )
        return StoredEvent(originator_id=originator_id, originator_version=originator_version,
                           topic=topic, state=FORMAT + key_id.bytes + sealed)

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        cls = resolve_topic(stored_event.topic)
        state = stored_event.state
        given = stored_event.originator_id
        originator_id = given if isinstance(given, UUID) else UUID(str(given))
        where = f"event {originator_id} version {stored_event.originator_version}"
        if len(state) < _HEADER or state[:1] != FORMAT:
            raise StateUnreadable(f"{where}: unknown stored state format")
        try:
            sealer = self.keyring.sealer(UUID(bytes=state[1:_HEADER]))
            plain = sealer.open(state[_HEADER:], associated_data(
                originator_id, stored_event.originator_version, stored_event.topic))
        except ContentDestroyed:
            raise ContentShredded(f"{where}: content was destroyed") from None
        except CryptoError:
            raise StateUnreadable(f"{where}: stored state fails authentication") from None
        event_state: dict[str, Any] = self.transcoder.decode(plain)
        event_state["originator_id"] = originator_id
        event_state["originator_version"] = stored_event.originator_version
        class_version = getattr(cls, "class_version", 1)
        from_version = event_state.pop("class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(event_state)
            from_version += 1
        domain_event = object.__new__(cls)
        object.__setattr__(domain_event, "__dict__", event_state)
        return cast(DomainEventProtocol[UUID], domain_event)
