"""Signed checkpoints: a store's tree size and root, signed with Ed25519 as a C2SP signed
note, appended to a checkpoint log in the store and exported to files outside it.

Note body (C2SP tlog-checkpoint): the origin, the tree size, the base64 root hash, then an
extension line with the time. A signature line follows a blank line:
``— <key name> base64(key hash || signature)``, the key hash being the first four bytes of
SHA-256(key name || "\\n" || 0x01 || public key) (C2SP signed-note, Ed25519).

Each new checkpoint must be consistent with the previous one in the log (an RFC 9162
consistency proof is checked before it is written); otherwise the log was rewritten and
issuing stops with an integrity failure.
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    select,
)

from ledger.errors import BadInput, IntegrityFailure, KeyMaterialError, NotInitialised
from ledger.integrity.tree import StoredTree
from ledger.integrity.verify import verify_store
from ledger.primitives import merkle
from ledger.primitives.crypto import new_signing_key, sign, signing_public_key, verify_signature
from ledger.stores.store import Store

DASH = "\u2014"
ED25519 = b"\x01"


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    time: datetime
    note: str


def origin_of(store: Store) -> str:
    return f"ledger/{store.settings.name}"


# ----- keys --------------------------------------------------------------------------------

def key_paths(data_dir: Path) -> tuple[Path, Path]:
    return data_dir / "keys" / "checkpoint.key", data_dir / "keys" / "checkpoint.pub"


def create_signing_key(data_dir: Path) -> bool:
    """Create the signing key (0600) and its public key beside it; never overwrite."""
    private_path, public_path = key_paths(data_dir)
    if private_path.exists():
        return False
    private_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    private = new_signing_key()
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(base64.b64encode(private).decode("ascii") + "\n")
    public_path.write_text(base64.b64encode(signing_public_key(private)).decode("ascii") + "\n",
                           encoding="ascii")
    return True


def load_signing_key(data_dir: Path) -> bytes:
    private_path, _ = key_paths(data_dir)
    if not private_path.exists():
        raise NotInitialised(f"no checkpoint signing key at {private_path}; run 'ledger init'")
    if private_path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyMaterialError(f"key file {private_path} is accessible to other users; "
                               "chmod 600 it")
    return _b64(private_path.read_text(encoding="ascii"), f"key file {private_path}", 32)


def load_public_key(path: Path) -> bytes:
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        raise BadInput(f"cannot read the public key {path}") from None
    return _b64(text, f"public key {path}", 32)


def _b64(text: str, where: str, length: int | None = None) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyMaterialError(f"{where} is not valid base64") from None
    if length is not None and len(raw) != length:
        raise KeyMaterialError(f"{where} must decode to {length} bytes")
    return raw


# ----- the signed note -----------------------------------------------------------------------

def key_hash(name: str, public: bytes) -> bytes:
    return sha256(name.encode("utf-8") + b"\n" + ED25519 + public).digest()[:4]


def make_note(origin: str, size: int, root: bytes, at: datetime, private: bytes) -> str:
    body = (f"{origin}\n{size}\n{base64.b64encode(root).decode('ascii')}\n"
            f"time {at.astimezone(UTC).isoformat()}\n")
    public = signing_public_key(private)
    signature = key_hash(origin, public) + sign(private, body.encode("utf-8"))
    return f"{body}\n{DASH} {origin} {base64.b64encode(signature).decode('ascii')}\n"


def parse_note(text: str, public: bytes) -> Checkpoint:
    """Check a checkpoint's signature with ``public`` and read it; IntegrityFailure if it
    is forged, altered or malformed (saying which)."""
    body, sep, signatures = text.partition("\n\n")
    if not sep:
        raise IntegrityFailure("checkpoint: no signature block")
    body += "\n"
    lines = body.splitlines()
    if len(lines) < 4 or not lines[3].startswith("time "):
        raise IntegrityFailure("checkpoint: the body must be origin, size, root and time")
    origin = lines[0]
    for line in signatures.splitlines():
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != DASH or parts[1] != origin:
            continue
        try:
            raw = base64.b64decode(parts[2], validate=True)
        except (binascii.Error, ValueError):
            continue
        if raw[:4] == key_hash(origin, public) and verify_signature(public, body.encode(),
                                                                    raw[4:]):
            break
    else:
        raise IntegrityFailure(f"checkpoint for {origin}: no valid signature by this key")
    try:
        size = int(lines[1])
        root = base64.b64decode(lines[2], validate=True)
        time = datetime.fromisoformat(lines[3].removeprefix("time "))
    except (ValueError, binascii.Error):
        raise IntegrityFailure(f"checkpoint for {origin}: malformed size, root or time") from None
    if size < 0 or len(root) != 32:
        raise IntegrityFailure(f"checkpoint for {origin}: malformed size or root")
    return Checkpoint(origin, size, root, time, text)


# ----- the log -----------------------------------------------------------------------------

class CheckpointLog:
    def __init__(self, store: Store) -> None:
        self.store = store
        metadata = MetaData(schema=store.settings.schema)
        self.table = Table(
            f"{store.name.lower()}_checkpoints", metadata,
            Column("seq", Integer, primary_key=True, autoincrement=True),
            Column("size", BigInteger, nullable=False),
            Column("root", LargeBinary(32), nullable=False),
            Column("at", DateTime(timezone=True), nullable=False),
            Column("note", Text, nullable=False),
        )
        metadata.create_all(store.engine, checkfirst=True)
        self.tree = StoredTree(store)

    def notes(self) -> list[str]:
        t = self.table.c
        with self.store.engine.connect() as conn:
            return [str(n) for n in conn.execute(select(t.note).order_by(t.seq)).scalars()]

    def sizes(self) -> list[int]:
        t = self.table.c
        with self.store.engine.connect() as conn:
            return [int(n) for n in conn.execute(select(t.size).order_by(t.seq)).scalars()]

    def latest_size(self) -> int:
        latest = self.latest()
        return latest[0] if latest else 0

    def latest(self) -> tuple[int, bytes] | None:
        t = self.table.c
        with self.store.engine.connect() as conn:
            row = conn.execute(select(t.size, t.root).order_by(t.seq.desc()).limit(1)).first()
        return (int(row[0]), bytes(row[1])) if row else None

    def issue(self, private: bytes, at: datetime) -> Checkpoint:
        """Sign the current tree, after checking it extends the previous checkpoint."""
        rec = self.store.chained_recorder
        chain_report = verify_store(self.store.engine, rec.events_record_cls.__table__,
                                    rec.chain, store=self.store.settings.name)
        if not chain_report.ok:
            assert chain_report.damage is not None
            raise IntegrityFailure(f"{self.store.settings.name}: DAMAGED at "
                                   f"{chain_report.damage.describe()}; no checkpoint signed")
        self.tree.catch_up()
        size = self.tree.size()
        root = self.tree.root(size)
        notes = self.notes()
        if notes:  # the previous checkpoint as signed, not as a database row says
            signed = parse_note(notes[-1], signing_public_key(private))
            old_size, old_root = signed.size, signed.root
            consistent = old_size <= size and (
                (old_size == 0 and old_root == merkle.EMPTY_ROOT) or merkle.verify_consistency(
                    old_size, size, old_root, root, self.tree.consistency(old_size, size)
                    if old_size else []))
            if not consistent:
                raise IntegrityFailure(
                    f"{self.store.settings.name}: the log no longer extends the checkpoint of "
                    f"size {old_size}; it was truncated or rewritten (run ledger verify)")
        note = make_note(origin_of(self.store), size, root, at, private)
        with self.store.engine.begin() as conn:
            conn.execute(self.table.insert().values(size=size, root=root, at=at, note=note))
        return Checkpoint(origin_of(self.store), size, root, at, note)
