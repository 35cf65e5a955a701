"""Key files: base64 text in a file only its owner may read, created once, never overwritten.

The one implementation of reading and creating a key file, for the key-encryption keys and
the checkpoint signing key. Messages name the file, never the key.
"""

from __future__ import annotations

import base64
import binascii
import stat
from pathlib import Path

from ledger.errors import KeyMaterialError, NotInitialised
from ledger.limits import KEY_FILE_BYTES, read_file
from ledger.primitives import private_files


def decode(text: str, where: str, length: int) -> bytes:
    """Base64 ``text`` as ``length`` raw bytes; ``where`` names its source in errors."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyMaterialError(f"{where} is not valid base64") from None
    if len(raw) != length:
        raise KeyMaterialError(f"{where} must decode to {length} bytes")
    return raw


def read_private(path: Path, length: int, *, missing: str) -> bytes:
    """A private key file: refused if it is missing (``missing`` says what to do) or if
    anyone but its owner may read it."""
    if not path.exists():
        raise NotInitialised(missing)
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyMaterialError(f"key file {path} is accessible to other users; chmod 600 it")
    raw = read_file(path, KEY_FILE_BYTES, f"key file {path}", KeyMaterialError)
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise KeyMaterialError(f"key file {path} is not valid base64") from None
    return decode(text, f"key file {path}", length)


def create_private(path: Path, raw: bytes) -> bool:
    """Write ``raw`` to a new 0600 file (its directory 0700); never overwrite. True if
    created, False if the file already existed."""
    private_files.make_dir(path.parent)
    try:
        private_files.write_new(path, base64.b64encode(raw) + b"\n")
    except FileExistsError:
        return False
    return True
