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
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import sha256

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

from ledger.errors import IntegrityFailure
from ledger.integrity.tree import StoredTree
from ledger.integrity.verify import Report
from ledger.persistence.log import EventLog
from ledger.primitives import merkle
from ledger.primitives.crypto import sign, signing_public_key, verify_signature

DASH = "\u2014"
ED25519 = b"\x01"


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    time: datetime
    note: str


def origin_of(store_name: str) -> str:
    return f"ledger/{store_name}"


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


# ----- checks ---------------------------------------------------------------------------

def tree_has(tree: StoredTree, size: int, root: bytes) -> bool:
    """Whether the stored tree (caught up first) holds ``size`` leaves with this root."""
    tree.catch_up()
    return size <= tree.size() and tree.root(size) == root


def extends(tree: StoredTree, old_size: int, old_root: bytes, size: int, root: bytes) -> bool:
    """Whether the tree of ``size`` with ``root`` extends the one of ``old_size``/``old_root``
    (an RFC 9162 consistency proof, made from the tree and checked)."""
    if old_size > size:
        return False
    if old_size == 0:
        return old_root == merkle.EMPTY_ROOT
    return merkle.verify_consistency(old_size, size, old_root, root,
                                     tree.consistency(old_size, size))


# ----- the log -----------------------------------------------------------------------------

class CheckpointLog:
    """A store's signed checkpoints, in the order they were issued."""

    def __init__(self, log: EventLog, tree: StoredTree) -> None:
        self.log = log
        self.tree = tree
        self.origin = origin_of(log.name)
        metadata = MetaData(schema=log.schema)
        self.table = Table(
            f"{log.prefix}_checkpoints", metadata,
            Column("seq", Integer, primary_key=True, autoincrement=True),
            Column("size", BigInteger, nullable=False),
            Column("root", LargeBinary(32), nullable=False),
            Column("at", DateTime(timezone=True), nullable=False),
            Column("note", Text, nullable=False),
        )
        metadata.create_all(log.engine, checkfirst=True)

    def notes(self) -> list[str]:
        t = self.table.c
        with self.log.engine.connect() as conn:
            return [str(n) for n in conn.execute(select(t.note).order_by(t.seq)).scalars()]

    def sizes(self) -> list[int]:
        t = self.table.c
        with self.log.engine.connect() as conn:
            return [int(n) for n in conn.execute(select(t.size).order_by(t.seq)).scalars()]

    def latest_size(self) -> int:
        latest = self.latest()
        return latest[0] if latest else 0

    def latest(self) -> tuple[int, bytes] | None:
        t = self.table.c
        with self.log.engine.connect() as conn:
            row = conn.execute(select(t.size, t.root).order_by(t.seq.desc()).limit(1)).first()
        return (int(row[0]), bytes(row[1])) if row else None

    def issue(self, private: bytes, at: datetime, verified: Report) -> Checkpoint:
        """Sign the current tree, given the chain's verification report (which must be
        clean), after checking the tree extends the previous checkpoint as signed."""
        if not verified.ok:
            assert verified.damage is not None
            raise IntegrityFailure(f"{self.log.name}: DAMAGED at "
                                   f"{verified.damage.describe()}; no checkpoint signed")
        self.tree.catch_up()
        size = self.tree.size()
        root = self.tree.root(size)
        notes = self.notes()
        if notes:  # the previous checkpoint as signed, not as a database row says
            signed = parse_note(notes[-1], signing_public_key(private))
            if not extends(self.tree, signed.size, signed.root, size, root):
                raise IntegrityFailure(
                    f"{self.log.name}: the log no longer extends the checkpoint of "
                    f"size {signed.size}; it was truncated or rewritten (run ledger verify)")
        note = make_note(self.origin, size, root, at, private)
        with self.log.engine.begin() as conn:
            conn.execute(self.table.insert().values(size=size, root=root, at=at, note=note))
        return Checkpoint(self.origin, size, root, at, note)
