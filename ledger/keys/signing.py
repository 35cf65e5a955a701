"""The checkpoint signing key (Ed25519): private in a 0600 file, public beside it (0600
too, like every file the ledger makes: copy it out to whoever verifies)."""

from __future__ import annotations

import base64
from pathlib import Path

from ledger.errors import BadInput, KeyMaterialError
from ledger.keys.files import create_private, decode, read_private
from ledger.limits import KEY_FILE_BYTES, read_file
from ledger.primitives import private_files
from ledger.primitives.crypto import new_signing_key, signing_public_key

ED25519_BYTES = 32


def key_paths(key_dir: Path) -> tuple[Path, Path]:
    """The checkpoint signing key and its public key, in the key directory."""
    return key_dir / "checkpoint.key", key_dir / "checkpoint.pub"


def create_signing_key(key_dir: Path) -> bool:
    """Create the signing key (0600) and its public key beside it; never overwrite."""
    private_path, public_path = key_paths(key_dir)
    if private_path.exists():
        return False
    if public_path.exists():  # a public key is never replaced (notes verify with it)
        raise KeyMaterialError(f"{public_path} exists without its private key "
                               f"{private_path}: restore the private key from your backup")
    private = new_signing_key()
    if not create_private(private_path, private):
        return False
    private_files.write_new(public_path, base64.b64encode(signing_public_key(private)) + b"\n")
    return True


def load_signing_key(key_dir: Path) -> bytes:
    private_path, _ = key_paths(key_dir)
    return read_private(private_path, ED25519_BYTES,
                        missing=f"no checkpoint signing key at {private_path}; run "
                                "'ledger init'")


def load_public_key(path: Path) -> bytes:
    raw = read_file(path, KEY_FILE_BYTES, f"the public key {path}")
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise BadInput(f"the public key {path} is not valid base64") from None
    return decode(text, f"public key {path}", ED25519_BYTES)
