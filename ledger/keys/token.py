"""Key-encryption keys inside a PKCS#11 token (an HSM; SoftHSM2 in the tests).

Each version is an AES-256 secret key generated inside the token, sensitive and not
extractable, labelled ``ledger-<store>-kek-v<N>``. Data keys are wrapped and unwrapped by
the token with AES-GCM (a random 96-bit nonce, the data key's id as associated data); the
KEK's bytes never reach this process. The token's user PIN is read from a 0600 file.
The one module that imports the PKCS#11 binding (python-pkcs11).
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import Any

from ledger.errors import KeyMaterialError
from ledger.limits import KEY_FILE_BYTES, read_file
from ledger.primitives.crypto import KEY_BYTES, NONCE_BYTES, CryptoError
from ledger.settings import Pkcs11Settings, StoreSettings

TAG_BITS = 128


def _binding() -> Any:
    try:
        import pkcs11  # noqa: PLC0415
    except ImportError:
        raise KeyMaterialError("the pkcs11 provider needs python-pkcs11: pip install "
                               "'ledger[pkcs11]'") from None
    return pkcs11


def read_pin(pin_file: Path) -> str:
    if not pin_file.exists():
        raise KeyMaterialError(f"the PKCS#11 PIN file {pin_file} does not exist")
    if pin_file.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyMaterialError(f"the PKCS#11 PIN file {pin_file} is accessible to other "
                               "users; chmod 600 it")
    pin = read_file(pin_file, KEY_FILE_BYTES, f"PIN file {pin_file}", KeyMaterialError)
    try:
        text = pin.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise KeyMaterialError(f"the PKCS#11 PIN file {pin_file} is not text") from None
    if not text:
        raise KeyMaterialError(f"the PKCS#11 PIN file {pin_file} is empty")
    return text


class TokenKek:
    """One KEK version held by the token."""

    def __init__(self, version: int, key: Any, binding: Any) -> None:
        self.version = version
        self._key = key
        self._p11 = binding

    def wrap(self, dek: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        try:
            return nonce + bytes(self._key.encrypt(
                dek, mechanism=self._p11.Mechanism.AES_GCM,
                mechanism_param=self._p11.GCMParams(nonce, aad, TAG_BITS)))
        except self._p11.PKCS11Error as e:
            raise KeyMaterialError(f"the PKCS#11 token could not wrap a data key "
                                   f"({type(e).__name__})") from None

    def unwrap(self, blob: bytes, aad: bytes) -> bytes:
        if len(blob) < NONCE_BYTES + TAG_BITS // 8:
            raise CryptoError("wrapped key is too short")
        try:
            dek = bytes(self._key.decrypt(
                blob[NONCE_BYTES:], mechanism=self._p11.Mechanism.AES_GCM,
                mechanism_param=self._p11.GCMParams(blob[:NONCE_BYTES], aad, TAG_BITS)))
        except self._p11.PKCS11Error:
            raise CryptoError("authentication failed (wrong key or altered data)") from None
        if len(dek) != KEY_BYTES:
            raise CryptoError("unwrapped key has the wrong length")
        return dek


class TokenProvider:
    """The store's KEK versions as secret keys in one token (opened when first needed)."""

    name = "pkcs11"

    def __init__(self, store: StoreSettings, settings: Pkcs11Settings) -> None:
        self.store = store
        self.settings = settings
        self._session: Any = None
        self._p11: Any = None

    def label(self, version: int) -> str:
        return f"ledger-{self.store.name}-kek-v{version}"

    def _open(self) -> Any:
        if self._session is not None:
            return self._session
        p11 = _binding()
        pin = read_pin(self.settings.pin_file)
        if not self.settings.module.is_file():
            raise KeyMaterialError(f"the PKCS#11 module {self.settings.module} does not exist")
        try:
            lib = p11.lib(str(self.settings.module))
            token = lib.get_token(token_label=self.settings.token)
        except (p11.PKCS11Error, RuntimeError) as e:
            raise KeyMaterialError(f"cannot reach the PKCS#11 token {self.settings.token!r} "
                                   f"({type(e).__name__})") from None
        try:
            try:
                self._session = token.open(user_pin=pin, rw=True)
            except p11.exceptions.UserAlreadyLoggedIn:
                # The login is the process's: the other store's session made it.
                self._session = token.open(rw=True)
        except p11.PKCS11Error as e:
            raise KeyMaterialError(f"cannot log in to the PKCS#11 token "
                                   f"{self.settings.token!r} ({type(e).__name__})") from None
        self._p11 = p11
        return self._session

    def _find(self, version: int) -> Any:
        session = self._open()
        found = list(session.get_objects({
            self._p11.Attribute.CLASS: self._p11.ObjectClass.SECRET_KEY,
            self._p11.Attribute.LABEL: self.label(version)}))
        if len(found) > 1:
            raise KeyMaterialError(f"the PKCS#11 token holds {len(found)} keys labelled "
                                   f"{self.label(version)}; remove the extra ones")
        return found[0] if found else None

    def exists(self, version: int) -> bool:
        return self._find(version) is not None

    def load(self, version: int) -> TokenKek:
        key = self._find(version)
        if key is None:
            raise KeyMaterialError(f"the PKCS#11 token {self.settings.token!r} holds no key "
                                   f"{self.label(version)}: restore it from the token's backup")
        return TokenKek(version, key, self._p11)

    def create(self, version: int) -> bool:
        if self._find(version) is not None:
            return False
        a = self._p11.Attribute
        try:
            self._open().generate_key(self._p11.KeyType.AES, KEY_BYTES * 8,
                                      label=self.label(version), store=True, template={
                                          a.TOKEN: True, a.PRIVATE: True, a.SENSITIVE: True,
                                          a.EXTRACTABLE: False, a.ENCRYPT: True,
                                          a.DECRYPT: True, a.WRAP: False, a.UNWRAP: False,
                                          a.MODIFIABLE: False})
        except self._p11.PKCS11Error as e:
            raise KeyMaterialError(f"the PKCS#11 token could not make key "
                                   f"{self.label(version)} ({type(e).__name__})") from None
        return True

    def destroy(self, version: int) -> None:
        key = self._find(version)
        if key is not None:
            try:
                key.destroy()
            except self._p11.PKCS11Error as e:
                raise KeyMaterialError(f"the PKCS#11 token could not destroy key "
                                       f"{self.label(version)} ({type(e).__name__})") from None

    def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            with contextlib.suppress(self._p11.PKCS11Error):
                session.close()
