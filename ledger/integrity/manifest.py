"""A backup's manifest: what the backup holds, signed with the checkpoint key.

``manifest.json`` is ``{"manifest": M, "sig": base64}``; the signature is Ed25519 over
``"ledger/backup-manifest/v1" || 0x00 || canonical(M)``, canonical being RFC 8785 for JSON
of objects, arrays, strings, integers and null (sorted keys, no whitespace, ASCII). M names
the format version, when the backup was taken, each store's copy (its files and their
SHA-256, its event count, head, Merkle root and latest signed checkpoint) and the
destruction journal's copy. A restore believes nothing in a backup before this signature
and every file's digest are checked, then each store's chain is walked again.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from hashlib import sha256
from pathlib import Path
from typing import Any

from ledger.errors import IntegrityFailure
from ledger.primitives import private_files
from ledger.primitives.chain import Head
from ledger.primitives.crypto import sign, verify_signature

DOMAIN = b"ledger/backup-manifest/v1\x00"
FORMAT = 1
NAME = "manifest.json"
MAX_BYTES = 1 << 20


@dataclass(frozen=True)
class StoreCopy:
    """One store's copy in a backup."""

    name: str  # main, psychotherapy
    backend: str  # sqlite, postgresql
    files: dict[str, str]  # path relative to the backup -> hex SHA-256
    events: int
    head: Head | None
    root: bytes | None  # Merkle root of the copy's log (None when empty)
    checkpoint_epoch: int  # the latest signed checkpoint copied with it (0: none)
    checkpoint_size: int

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "backend": self.backend, "files": self.files,
                "events": self.events,
                "head": None if self.head is None else
                f"{self.head.position}:{self.head.chain.hex()}",
                "root": None if self.root is None else self.root.hex(),
                "checkpoint_epoch": self.checkpoint_epoch,
                "checkpoint_size": self.checkpoint_size}


@dataclass(frozen=True)
class Manifest:
    taken_at: datetime
    stores: dict[str, StoreCopy]  # by store name
    journal: dict[str, str]  # the journal's copy (path -> SHA-256), empty if none
    journal_entries: int
    notes: dict[str, str]  # copied checkpoint notes (path -> SHA-256)

    def as_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "taken_at": self.taken_at.isoformat(),
                "stores": {n: s.as_json() for n, s in self.stores.items()},
                "journal": self.journal, "journal_entries": self.journal_entries,
                "notes": self.notes}

    def files(self) -> dict[str, str]:
        found = {**self.journal, **self.notes}
        for store in self.stores.values():
            found.update(store.files)
        return found


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=True).encode("ascii")


def digest(path: Path) -> str:
    h = sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def write(directory: Path, manifest: Manifest, private: bytes) -> None:
    body = manifest.as_json()
    signature = sign(private, DOMAIN + canonical(body))
    private_files.write_new(directory / NAME, canonical(
        {"manifest": body, "sig": base64.b64encode(signature).decode("ascii")}) + b"\n")


def read(directory: Path, public: bytes) -> Manifest:
    """The backup's manifest, its signature and every file's digest checked
    (IntegrityFailure naming what does not hold)."""
    path = directory / NAME
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError as e:
        raise IntegrityFailure(f"{path}: cannot read the backup's manifest "
                               f"({e.strerror or type(e).__name__})") from None
    try:
        outer = json.loads(raw)
        body, signature = outer["manifest"], base64.b64decode(outer["sig"], validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise IntegrityFailure(f"{path}: not a backup manifest") from None
    if len(raw) > MAX_BYTES or not verify_signature(public, DOMAIN + canonical(body),
                                                     signature):
        raise IntegrityFailure(f"{path}: the signature does not verify with this "
                               "installation's checkpoint public key (altered, or another "
                               "installation's backup)")
    manifest = _parse(body, path)
    for name, expected in manifest.files().items():
        file = directory / name
        if ".." in Path(name).parts or Path(name).is_absolute():
            raise IntegrityFailure(f"{path}: names a file outside the backup")
        if not file.is_file():
            raise IntegrityFailure(f"the backup's file {name} is missing")
        if digest(file) != expected:
            raise IntegrityFailure(f"the backup's file {name} was altered (its SHA-256 is not "
                                   "the one the manifest records)")
    return manifest


def _parse(body: Any, path: Path) -> Manifest:
    try:
        if body["format"] != FORMAT:
            raise IntegrityFailure(f"{path}: backup format {body['format']!r} is not "
                                   f"{FORMAT}, the one this version reads")
        stores = {}
        for name, s in body["stores"].items():
            head = None
            if s["head"] is not None:
                position, _, chain = s["head"].partition(":")
                head = Head(int(position), bytes.fromhex(chain))
            stores[name] = StoreCopy(
                name=name, backend=str(s["backend"]), files=_digests(s["files"]),
                events=int(s["events"]), head=head,
                root=None if s["root"] is None else bytes.fromhex(s["root"]),
                checkpoint_epoch=int(s["checkpoint_epoch"]),
                checkpoint_size=int(s["checkpoint_size"]))
        return Manifest(taken_at=datetime.fromisoformat(body["taken_at"]), stores=stores,
                        journal=_digests(body["journal"]),
                        journal_entries=int(body["journal_entries"]),
                        notes=_digests(body["notes"]))
    except (ValueError, KeyError, TypeError, AttributeError):
        raise IntegrityFailure(f"{path}: malformed backup manifest") from None


def _digests(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ValueError("a map of files to digests")
    return dict(value)
