"""AES-256-GCM sealing, key wrapping, Ed25519 checkpoint signatures.

The only module that imports ``cryptography.hazmat``.

Everything else calls these few functions with fixed algorithms. Failures collapse
into :class:`CryptoError`, whose message names no key and no plaintext.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # 96-bit GCM nonce (NIST SP 800-38D)


class CryptoError(Exception):
    """Decryption or unwrapping failed: wrong key, or the ciphertext was altered."""


def new_key() -> bytes:
    """A fresh random 256-bit key."""
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


class Sealer:
    """Seals and opens byte strings under one AES-256-GCM key, binding associated data."""

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise CryptoError("a sealing key must be 32 bytes")
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        """Return nonce || ciphertext || tag."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, aad)

    def open(self, sealed: bytes, aad: bytes) -> bytes:
        """Return the plaintext, or raise :class:`CryptoError` if anything was altered."""
        if len(sealed) < NONCE_BYTES + 16:
            raise CryptoError("sealed value is too short")
        try:
            return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)
        except InvalidTag:
            raise CryptoError("authentication failed (wrong key or altered data)") from None


def wrap_key(kek: bytes, dek: bytes, aad: bytes) -> bytes:
    """Wrap a data key under a key-encryption key, bound to ``aad`` (the key id)."""
    return Sealer(kek).seal(dek, aad)


def unwrap_key(kek: bytes, wrapped: bytes, aad: bytes) -> bytes:
    """Unwrap a data key; :class:`CryptoError` if the KEK is wrong or the row was altered."""
    dek = Sealer(kek).open(wrapped, aad)
    if len(dek) != KEY_BYTES:
        raise CryptoError("unwrapped key has the wrong length")
    return dek


# ----- a key sealed under a passphrase (scrypt) ------------------------------------------------

# scrypt's cost: 2**17 x 8 x 128 bytes = 128 MiB and about half a second per derivation
# (OWASP's recommendation for scrypt). Stored with each sealed key, so it can be raised later.
SCRYPT_N = 2**17
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16


def passphrase_key(passphrase: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    """A 256-bit key from ``passphrase`` with scrypt (memory-hard)."""
    try:
        return Scrypt(salt=salt, length=KEY_BYTES, n=n, r=r, p=p).derive(passphrase)
    except (ValueError, MemoryError):
        raise CryptoError("the sealed key's scrypt parameters are not usable") from None


def new_salt() -> bytes:
    return os.urandom(SALT_BYTES)


# ----- Ed25519 signatures for checkpoints ---------------------------------------------------

def new_signing_key() -> bytes:
    """A fresh Ed25519 private key, raw (32 bytes)."""
    return Ed25519PrivateKey.generate().private_bytes_raw()


def signing_public_key(private: bytes) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(private).public_key().public_bytes_raw()


def sign(private: bytes, message: bytes) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(private).sign(message)


def verify_signature(public: bytes, message: bytes, signature: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True
