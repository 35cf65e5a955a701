"""Reading files and streams a person or another program supplies: never more than the
limit plus one byte, so ``/dev/zero`` or an endless pipe is refused, not read to the end."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from ledger.errors import BadInput, LedgerError

KEY_FILE_BYTES = 1024  # a base64 key is under 100 bytes
CHECKPOINT_NOTE_BYTES = 64 * 1024  # a signed note is a few hundred bytes


def read_stream(stream: BinaryIO, limit: int, what: str,
                error: type[LedgerError] = BadInput) -> bytes:
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise error(f"{what} is larger than {limit} bytes")
    return data


def read_file(path: Path, limit: int, what: str,
              error: type[LedgerError] = BadInput) -> bytes:
    """At most ``limit`` bytes of ``path`` (``error`` names it if it holds more or cannot
    be read)."""
    try:
        with path.open("rb") as f:
            return read_stream(f, limit, what, error)
    except OSError as e:
        raise error(f"cannot read {what}: {e.strerror or type(e).__name__}") from None


def utf8(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"{what} is not UTF-8 text") from None


def read_note(path: Path, error: type[LedgerError] = BadInput) -> str:
    """A signed checkpoint note's text (bounded; ``error`` if too big, unreadable or not
    UTF-8)."""
    data = read_file(path, CHECKPOINT_NOTE_BYTES, f"the checkpoint {path}", error)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise error(f"the checkpoint {path} is not UTF-8 text") from None
