"""Key-encryption keys: kept outside the database, in a 0600 file or an environment variable."""

from __future__ import annotations

import base64
import binascii
import os
import stat

from ledger.errors import KeyMaterialError, NotInitialised
from ledger.primitives.crypto import KEY_BYTES, new_key
from ledger.settings import StoreSettings


def _decode(text: str, where: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyMaterialError(f"{where} is not valid base64") from None
    if len(key) != KEY_BYTES:
        raise KeyMaterialError(f"{where} must decode to {KEY_BYTES} bytes")
    return key


def load_kek(store: StoreSettings) -> bytes:
    """The store's KEK from its environment variable, else from its key file."""
    from_env = os.environ.get(store.kek_env)
    if from_env:
        return _decode(from_env, store.kek_env)
    path = store.kek_file
    if not path.exists():
        raise NotInitialised(f"no key-encryption key for the {store.name} store at {path}; "
                             "run 'ledger init' first")
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyMaterialError(f"key file {path} is accessible to other users; chmod 600 it")
    return _decode(path.read_text(encoding="ascii"), f"key file {path}")


def create_kek(store: StoreSettings) -> bool:
    """Create the key file (0600) unless a key already exists; never overwrite. True if created."""
    if os.environ.get(store.kek_env) or store.kek_file.exists():
        return False
    store.kek_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(store.kek_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(base64.b64encode(new_key()).decode("ascii") + "\n")
    return True
