"""The console's cookie key: it authenticates what the browser console keeps in its
cookies (the time of the last request, for the automatic logoff; the sign-in form's
anti-forgery value). 256 random bits in ``<key dir>/console.key`` (0600), made on first
use and never overwritten, so every server process of one installation shares it. It is
not a content key: losing it signs everyone out, nothing more."""

from __future__ import annotations

import secrets

from ledger.keys.files import create_private, read_private
from ledger.settings import Settings

KEY_BYTES = 32
FILE_NAME = "console.key"


def console_key(settings: Settings) -> bytes:
    """The key, created first if missing (by whichever process comes first)."""
    path = settings.keys / FILE_NAME
    create_private(path, secrets.token_bytes(KEY_BYTES))
    return read_private(path, KEY_BYTES, missing=f"the console key {path} is missing")
