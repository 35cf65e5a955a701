"""Key-encryption keys in 0600 files (or version 1 in an environment variable), and the
choice of provider for a store.

Version 1 is the store's key file (``keys/main.kek``, ``keys/psychotherapy.kek`` or
``LEDGER_KEK_FILE``) or its variable (``LEDGER_KEK``, ``LEDGER_PN_KEK``); version N is
``main.vN.kek`` beside it.
"""

from __future__ import annotations

import os
from pathlib import Path

from ledger.errors import KeyMaterialError, NotInitialised
from ledger.keys.files import create_private, decode, read_private
from ledger.keys.provider import Kek, KekProvider, RawKek
from ledger.primitives.crypto import KEY_BYTES, new_key
from ledger.settings import Settings, StoreSettings


def version_path(store: StoreSettings, version: int) -> Path:
    """The file of ``version`` of the store's KEK (the provider adds its own suffix)."""
    if version == 1:
        return store.kek_file
    return store.kek_file.with_name(f"{store.kek_file.stem}.v{version}{store.kek_file.suffix}")


def missing(store: StoreSettings, version: int, where: str) -> str:
    if version == 1 and where == str(store.kek_file):
        return (f"no key-encryption key for the {store.name} store at {store.kek_file}; run "
                "'ledger init' for a new installation, or, if the store holds data, restore "
                f"the key from your backup (or set {store.kek_env})")
    return (f"no key-encryption key version {version} for the {store.name} store in {where}; "
            "run 'ledger init' for a new installation, or, if the store holds data, restore "
            "the key from your key backup")


class FileProvider:
    """Each version in a 0600 base64 file; version 1 may come from the store's variable."""

    name = "file"

    def __init__(self, store: StoreSettings) -> None:
        self.store = store

    def _from_env(self, version: int) -> str | None:
        return os.environ.get(self.store.kek_env) or None if version == 1 else None

    def load(self, version: int) -> Kek:
        given = self._from_env(version)
        if given:
            return RawKek(version, decode(given, self.store.kek_env, KEY_BYTES))
        path = version_path(self.store, version)
        return RawKek(version, read_private(path, KEY_BYTES,
                                            missing=missing(self.store, version, str(path))))

    def exists(self, version: int) -> bool:
        return bool(self._from_env(version)) or version_path(self.store, version).exists()

    def create(self, version: int) -> bool:
        if self._from_env(version):
            return False
        return create_private(version_path(self.store, version), new_key())

    def destroy(self, version: int) -> None:
        if self._from_env(version):
            raise KeyMaterialError(f"version 1 of the {self.store.name} store's key-encryption "
                                   f"key is given in {self.store.kek_env}, which the ledger "
                                   "cannot destroy: unset it (and remove it from wherever it "
                                   "is kept), then retire again")
        path = version_path(self.store, version)
        destroy_file(path)

    def close(self) -> None:
        pass


def destroy_file(path: Path) -> None:
    """Overwrite the key file with zeros, then remove it. Zeros over the same blocks is the
    most a program can do: copy-on-write filesystems, SSDs and backups keep older copies."""
    try:
        size = path.stat().st_size
        fd = os.open(path, os.O_WRONLY)
        try:
            os.write(fd, b"\0" * size)
            os.fsync(fd)
        finally:
            os.close(fd)
        path.unlink()
    except FileNotFoundError:
        return
    except OSError as e:
        raise KeyMaterialError(f"cannot destroy key file {path}: "
                               f"{e.strerror or type(e).__name__}") from None


class Providers:
    """The providers of one opened ledger, by store and name. The configured one makes new
    versions; a version made by another (before a change of provider) is read by its own.
    One passphrase is asked at most once per process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._open: dict[tuple[str, str], KekProvider] = {}
        self._passphrase: object | None = None

    @property
    def configured(self) -> str:
        return self.settings.kek.provider

    def get(self, store: StoreSettings, name: str | None = None) -> KekProvider:
        name = name or self.configured
        found = self._open.get((store.name, name))
        if found is None:
            found = self._make(store, name)
            self._open[(store.name, name)] = found
        return found

    def _make(self, store: StoreSettings, name: str) -> KekProvider:
        if name == "file":
            return FileProvider(store)
        if name == "passphrase":
            from ledger.keys.sealed import Passphrase, SealedFileProvider  # noqa: PLC0415

            if self._passphrase is None:
                self._passphrase = Passphrase(self.settings.kek.passphrase_fd)
            assert isinstance(self._passphrase, Passphrase)
            return SealedFileProvider(store, self._passphrase)
        if name == "pkcs11":
            from ledger.keys.token import TokenProvider  # noqa: PLC0415

            if self.settings.kek.pkcs11 is None:
                raise KeyMaterialError(f"a key-encryption key of the {store.name} store is "
                                       "in a PKCS#11 token: set LEDGER_PKCS11_MODULE, "
                                       "LEDGER_PKCS11_TOKEN and LEDGER_PKCS11_PIN_FILE")
            return TokenProvider(store, self.settings.kek.pkcs11)
        raise KeyMaterialError(f"unknown key-encryption key provider {name!r}")

    def close(self) -> None:
        for provider in self._open.values():
            provider.close()
        self._open.clear()


def kek_available(settings: Settings, store: StoreSettings) -> bool:
    """Whether the configured provider holds version 1 of the store's KEK."""
    providers = Providers(settings)
    try:
        return providers.get(store).exists(1)
    finally:
        providers.close()


def require(provider: KekProvider, store: StoreSettings, version: int) -> None:
    if not provider.exists(version):
        raise NotInitialised(missing(store, version, f"its {provider.name} provider"))


def load_kek(store: StoreSettings, version: int = 1) -> bytes:
    """The raw bytes of a version of the store's KEK kept by the file provider (a tool's or
    a test's: the ledger itself goes through :class:`Providers`)."""
    provider = FileProvider(store)
    given = provider._from_env(version)
    if given:
        return decode(given, store.kek_env, KEY_BYTES)
    path = version_path(store, version)
    return read_private(path, KEY_BYTES, missing=missing(store, version, str(path)))
