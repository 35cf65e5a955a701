"""Key-encryption keys sealed under a passphrase: each version is a 0600 file holding the
KEK sealed (AES-256-GCM) under a key derived from the passphrase with scrypt, with the
scrypt parameters and a random salt. The passphrase comes from a file descriptor
(``LEDGER_KEK_PASSPHRASE_FD``) or a prompt on the terminal; never from an argument or an
environment value. It is read once per process and kept only as long as the process.
"""

from __future__ import annotations

import base64
import binascii
import getpass
import json
import os
import stat
import sys
from pathlib import Path

from ledger.errors import KeyMaterialError, NotInitialised
from ledger.keys.kek import destroy_file, missing, version_path
from ledger.keys.provider import Kek, RawKek
from ledger.limits import KEY_FILE_BYTES, read_file
from ledger.primitives import private_files
from ledger.primitives.crypto import (
    SCRYPT_N,
    SCRYPT_P,
    SCRYPT_R,
    CryptoError,
    Sealer,
    new_key,
    new_salt,
    passphrase_key,
)
from ledger.settings import StoreSettings

FORMAT = "ledger-sealed-kek-1"
SUFFIX = ".sealed"
MIN_PASSPHRASE = 12  # characters, for a new sealed key
MAX_PASSPHRASE = 1024  # bytes
# Upper bounds for parameters read from a file (a file could ask for terabytes).
MAX_N, MAX_R, MAX_P = 2**20, 32, 16


# A descriptor is read to its end once; every ledger this process opens uses what it held
# (by what the descriptor is, so a number used again for another pipe is read again).
_FROM_FD: dict[tuple[int, int, int], bytes] = {}


def _identity(fd: int) -> tuple[int, int, int]:
    try:
        st = os.fstat(fd)
    except OSError as e:
        raise KeyMaterialError(f"cannot read the passphrase from file descriptor {fd}: "
                               f"{e.strerror or type(e).__name__}") from None
    return fd, st.st_dev, st.st_ino


class Passphrase:
    """The passphrase, read when first needed: from ``fd`` (to its end; one trailing newline
    is dropped), else at a prompt when standard input is a terminal."""

    def __init__(self, fd: int | None) -> None:
        self._fd = fd
        self._value: bytes | None = None

    def get(self, *, new: bool = False) -> bytes:
        if self._value is None and self._fd is not None:
            self._value = _FROM_FD.get(_identity(self._fd))
        if self._value is None:
            value = self._read_fd() if self._fd is not None else self._prompt(new)
            if not value:
                raise KeyMaterialError("the passphrase of the key-encryption keys is empty")
            if new and len(value.decode("utf-8", "replace")) < MIN_PASSPHRASE:
                raise KeyMaterialError("a new passphrase must have at least "
                                       f"{MIN_PASSPHRASE} characters")
            self._value = value
            if self._fd is not None:
                _FROM_FD[_identity(self._fd)] = value
        return self._value

    def _read_fd(self) -> bytes:
        assert self._fd is not None
        chunks: list[bytes] = []
        try:
            while chunk := os.read(self._fd, MAX_PASSPHRASE + 1):
                chunks.append(chunk)
                if sum(map(len, chunks)) > MAX_PASSPHRASE:
                    raise KeyMaterialError("the passphrase on LEDGER_KEK_PASSPHRASE_FD is "
                                           f"longer than {MAX_PASSPHRASE} bytes")
        except OSError as e:
            raise KeyMaterialError(f"cannot read the passphrase from file descriptor "
                                   f"{self._fd}: {e.strerror or type(e).__name__}") from None
        value = b"".join(chunks)
        return value[:-1] if value.endswith(b"\n") else value

    @staticmethod
    def _prompt(new: bool) -> bytes:
        if not sys.stdin.isatty():
            raise KeyMaterialError("the key-encryption keys are sealed under a passphrase: "
                                   "give it on a file descriptor (LEDGER_KEK_PASSPHRASE_FD=3 "
                                   "3<file) or run from a terminal to be asked")
        value = getpass.getpass("passphrase of the key-encryption keys: ")
        if new and getpass.getpass("the same passphrase again: ") != value:
            raise KeyMaterialError("the two passphrases differ; nothing was made")
        return value.encode("utf-8")


class SealedFileProvider:
    """Each version in ``<key file>.sealed`` (``main.kek.sealed``, ``main.v2.kek.sealed``)."""

    name = "passphrase"

    def __init__(self, store: StoreSettings, passphrase: Passphrase) -> None:
        self.store = store
        self._passphrase = passphrase
        self._loaded: dict[int, Kek] = {}  # one scrypt derivation per version and process

    def path(self, version: int) -> Path:
        path = version_path(self.store, version)
        return path.with_name(path.name + SUFFIX)

    def _aad(self, version: int) -> bytes:
        return f"{FORMAT}:{self.store.name}:{version}".encode()

    def exists(self, version: int) -> bool:
        return self.path(version).exists()

    def create(self, version: int) -> bool:
        path = self.path(version)
        if path.exists():
            return False
        salt = new_salt()
        wrapping = passphrase_key(self._passphrase.get(new=version == 1), salt, SCRYPT_N,
                                  SCRYPT_R, SCRYPT_P)
        sealed = Sealer(wrapping).seal(new_key(), self._aad(version))
        body = json.dumps({"format": FORMAT, "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P,
                           "salt": base64.b64encode(salt).decode(),
                           "sealed": base64.b64encode(sealed).decode()}) + "\n"
        private_files.make_dir(path.parent)
        try:
            private_files.write_new(path, body.encode())
        except FileExistsError:
            return False
        return True

    def load(self, version: int) -> Kek:
        if version not in self._loaded:
            self._loaded[version] = self._load(version)
        return self._loaded[version]

    def _load(self, version: int) -> Kek:
        path = self.path(version)
        if not path.exists():
            raise NotInitialised(missing(self.store, version, str(path)))
        if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyMaterialError(f"key file {path} is accessible to other users; chmod 600 it")
        n, r, p, salt, sealed = _parse(read_file(path, KEY_FILE_BYTES, f"key file {path}",
                                                 KeyMaterialError), path)
        try:
            wrapping = passphrase_key(self._passphrase.get(), salt, n, r, p)
            return RawKek(version, Sealer(wrapping).open(sealed, self._aad(version)))
        except CryptoError:
            raise KeyMaterialError(f"the passphrase does not open key file {path} (wrong "
                                   "passphrase, or the file was altered)") from None

    def destroy(self, version: int) -> None:
        self._loaded.pop(version, None)
        destroy_file(self.path(version))

    def close(self) -> None:
        pass


def _parse(raw: bytes, path: Path) -> tuple[int, int, int, bytes, bytes]:
    bad = KeyMaterialError(f"key file {path} is not a sealed key-encryption key")
    try:
        data = json.loads(raw.decode("utf-8"))
        n, r, p = (data[k] for k in ("n", "r", "p"))
        salt = base64.b64decode(data["salt"], validate=True)
        sealed = base64.b64decode(data["sealed"], validate=True)
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, binascii.Error):
        raise bad from None
    if data.get("format") != FORMAT or not all(type(x) is int for x in (n, r, p)):
        raise bad
    if not (2 <= n <= MAX_N and n & (n - 1) == 0 and 1 <= r <= MAX_R and 1 <= p <= MAX_P):
        raise KeyMaterialError(f"key file {path}: scrypt parameters out of range")
    return n, r, p, salt, sealed
