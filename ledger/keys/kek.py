"""Key-encryption keys: kept outside the database, in a 0600 file or an environment variable."""

from __future__ import annotations

import os

from ledger.keys.files import create_private, decode, read_private
from ledger.primitives.crypto import KEY_BYTES, new_key
from ledger.settings import StoreSettings


def load_kek(store: StoreSettings) -> bytes:
    """The store's KEK from its environment variable, else from its key file."""
    from_env = os.environ.get(store.kek_env)
    if from_env:
        return decode(from_env, store.kek_env, KEY_BYTES)
    return read_private(store.kek_file, KEY_BYTES,
                        missing=f"no key-encryption key for the {store.name} store at "
                                f"{store.kek_file}; run 'ledger init' for a new installation, "
                                "or, if the store holds data, restore the key from your "
                                f"backup (or set {store.kek_env})")


def kek_available(store: StoreSettings) -> bool:
    """Whether the store's KEK is given (variable) or its file exists."""
    return bool(os.environ.get(store.kek_env)) or store.kek_file.exists()


def create_kek(store: StoreSettings) -> bool:
    """Create the key file (0600) unless a key already exists; never overwrite. True if created."""
    if os.environ.get(store.kek_env):
        return False
    return create_private(store.kek_file, new_key())
