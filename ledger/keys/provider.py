"""One interface for every keeper of key-encryption keys (KEKs), and the raw-key KEK.

A provider keeps numbered versions (epochs) of one store's KEK. A version wraps and unwraps
data keys, binding associated data (the data key's id); where the KEK's bytes are, and
whether they ever leave their keeper, is the provider's business: a 0600 file or a variable
(:mod:`ledger.keys.kek`), a file sealed under a passphrase (:mod:`ledger.keys.sealed`), or a
PKCS#11 token that never lets them out (:mod:`ledger.keys.token`).
"""

from __future__ import annotations

from typing import Protocol

from ledger.primitives.crypto import KEY_BYTES, CryptoError, unwrap_key, wrap_key


class Kek(Protocol):
    """One version of a store's key-encryption key."""

    version: int

    def wrap(self, dek: bytes, aad: bytes) -> bytes: ...

    def unwrap(self, blob: bytes, aad: bytes) -> bytes:
        """The data key; :class:`CryptoError` if this is not its KEK or the blob changed."""
        ...


class KekProvider(Protocol):
    """Where one store's KEK versions are kept. Versions are numbered from 1."""

    name: str  # "file", "passphrase" or "pkcs11": recorded with each version

    def load(self, version: int) -> Kek:
        """The version; :class:`NotInitialised` if this provider does not hold it."""
        ...

    def exists(self, version: int) -> bool: ...

    def create(self, version: int) -> bool:
        """Make the version unless it exists (never overwritten). True if made now."""
        ...

    def destroy(self, version: int) -> None:
        """Destroy the version for good (retirement)."""
        ...

    def close(self) -> None: ...


class RawKek:
    """A KEK whose 32 bytes this process holds: AES-256-GCM key wrapping."""

    __slots__ = ("_key", "version")

    def __init__(self, version: int, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise CryptoError("a key-encryption key must be 32 bytes")
        self.version = version
        self._key = key

    def wrap(self, dek: bytes, aad: bytes) -> bytes:
        return wrap_key(self._key, dek, aad)

    def unwrap(self, blob: bytes, aad: bytes) -> bytes:
        return unwrap_key(self._key, blob, aad)
