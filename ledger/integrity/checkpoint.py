"""Signed checkpoints: a store's tree size and root, signed with Ed25519 as a C2SP signed
note, exported to files outside the database and mirrored in a table inside it.

Note body (C2SP tlog-checkpoint): the origin, the tree size, the base64 root hash, then
extension lines: the time, and the chain value at that size (so the next checkpoint can
start its verification there); the destruction journal's length and last hash then
(``journal <n> <base64 hash>``, so a journal cut later is caught); from the second epoch
on (a restore starts one) the epoch and how it began: ``epoch <n>`` and ``restored
<position> <lost> <time>``. A signature line follows a blank line: ``— <origin>
base64(key hash || signature)``, the key hash being the first four bytes of
SHA-256(origin || "\\n" || 0x01 || public key) (C2SP signed-note, Ed25519).

The origin is unique per installation: a configured prefix (``LEDGER_CHECKPOINT_ORIGIN``,
for example ``clinic.example.org/ledger``) or ``ledger/<key fingerprint>``, then the
store's name.

Trust: the exported file is what counts, and only once its signature is checked with the
public key. The table's columns are a cache; nothing is concluded from them. A new
checkpoint is signed only over a chain verified since the previous signed one, a root
recomputed from the verified leaves, and an RFC 9162 consistency proof from the previous
signed root to it (:mod:`ledger.integrity.attest`).
"""

from __future__ import annotations

import base64
import binascii
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

from ledger.errors import IntegrityFailure
from ledger.integrity.records import Checkpoint, JournalHead, Restored, note_name
from ledger.limits import read_note
from ledger.persistence.log import EventLog
from ledger.primitives import private_files
from ledger.primitives.crypto import sign, signing_public_key, verify_signature

DASH = "\u2014"
ED25519 = b"\x01"


def fingerprint(public: bytes) -> str:
    """A public key's short name in reports and default origins."""
    return sha256(public).hexdigest()[:16]


def origin_for(base: str | None, public: bytes, store_name: str) -> str:
    return f"{base or 'ledger/' + fingerprint(public)}/{store_name}"


# ----- the signed note -----------------------------------------------------------------------

def key_hash(name: str, public: bytes) -> bytes:
    return sha256(name.encode("utf-8") + b"\n" + ED25519 + public).digest()[:4]


def make_note(origin: str, size: int, root: bytes, at: datetime, private: bytes,
              chain: bytes | None = None, *, epoch: int = 1,
              restored: Restored | None = None, journal: JournalHead | None = None) -> str:
    body = (f"{origin}\n{size}\n{base64.b64encode(root).decode('ascii')}\n"
            f"time {at.astimezone(UTC).isoformat()}\n")
    if chain is not None:
        body += f"chain {base64.b64encode(chain).decode('ascii')}\n"
    if journal is not None:
        body += (f"journal {journal.entries} "
                 f"{base64.b64encode(journal.digest).decode('ascii')}\n")
    if epoch > 1:
        assert restored is not None
        body += (f"epoch {epoch}\nrestored {restored.position} {restored.lost} "
                 f"{restored.at.astimezone(UTC).isoformat()}\n")
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
        chains = [base64.b64decode(x.removeprefix("chain "), validate=True)
                  for x in lines[4:] if x.startswith("chain ")]
    except (ValueError, binascii.Error):
        raise IntegrityFailure(f"checkpoint for {origin}: malformed size, root, time or "
                               "chain") from None
    if size < 0 or len(root) != 32 or len(chains) > 1 or any(len(c) != 32 for c in chains):
        raise IntegrityFailure(f"checkpoint for {origin}: malformed size, root or chain")
    epoch, restored = _epoch(origin, lines[4:])
    return Checkpoint(origin, size, root, time, text, chains[0] if chains else None,
                      fingerprint(public), epoch, restored, _journal(origin, lines[4:]))


def _journal(origin: str, extensions: list[str]) -> JournalHead | None:
    found = [x.removeprefix("journal ").split(" ") for x in extensions
             if x.startswith("journal ")]
    if not found:
        return None
    try:
        if len(found) != 1 or len(found[0]) != 2:
            raise ValueError
        head = JournalHead(int(found[0][0]), base64.b64decode(found[0][1], validate=True))
        if head.entries < 0 or len(head.digest) != 32:
            raise ValueError
    except (ValueError, binascii.Error):
        raise IntegrityFailure(f"checkpoint for {origin}: malformed journal line") from None
    return head


def _epoch(origin: str, extensions: list[str]) -> tuple[int, Restored | None]:
    """The epoch lines of a note (signed already): none, or ``epoch`` and ``restored``."""
    epochs = [x.removeprefix("epoch ") for x in extensions if x.startswith("epoch ")]
    restores = [x.removeprefix("restored ").split(" ") for x in extensions
                if x.startswith("restored ")]
    if not epochs and not restores:
        return 1, None
    try:
        if len(epochs) != 1 or len(restores) != 1 or len(restores[0]) != 3:
            raise ValueError
        epoch = int(epochs[0])
        position, lost, at = restores[0]
        restored = Restored(int(position), int(lost), datetime.fromisoformat(at))
        if epoch < 2 or restored.position < 0 or restored.lost < 0:
            raise ValueError
    except ValueError:
        raise IntegrityFailure(f"checkpoint for {origin}: malformed epoch") from None
    return epoch, restored


# ----- the exported files ----------------------------------------------------------------------

class CheckpointFiles:
    """Signed notes outside the database: ``<dir>/<store>/<size>-<time>.note``, so their
    names sort by size, then time."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def write(self, store_name: str, checkpoint: Checkpoint,
              directory: Path | None = None) -> Path:
        folder = (directory or self.directory) / store_name
        private_files.make_dir(folder)
        path = folder / note_name(checkpoint)
        private_files.replace(path, checkpoint.note.encode("utf-8"))  # never half a note
        return path

    def latest(self, store_name: str, public: bytes) -> Checkpoint | None:
        """The store's latest exported checkpoint, its signature checked (IntegrityFailure
        naming the file if it does not verify); None if none was exported."""
        folder = self.directory / store_name
        names = sorted(folder.glob("*.note")) if folder.is_dir() else []
        if not names:
            return None
        text = read_note(names[-1], IntegrityFailure)
        try:
            return parse_note(text, public)
        except IntegrityFailure as e:
            raise IntegrityFailure(f"{names[-1]}: {e}") from None


# ----- the table in the store ---------------------------------------------------------------

class CheckpointLog:
    """A store's signed checkpoints, in the order they were issued (a copy of the exported
    notes inside the database, for bundles; never trusted without the signature)."""

    def __init__(self, log: EventLog) -> None:
        self.log = log
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

    def last_row(self) -> tuple[int, bytes, datetime] | None:
        """The size, root and time the table's latest row claims (unchecked: a cache)."""
        t = self.table.c
        with self.log.engine.connect() as conn:
            row = conn.execute(select(t.size, t.root, t.at).order_by(t.seq.desc())
                               .limit(1)).first()
        if row is None:
            return None
        at = row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC)
        return int(row.size), bytes(row.root), at

    def record(self, checkpoint: Checkpoint) -> None:
        with self.log.engine.begin() as conn:
            conn.execute(self.table.insert().values(
                size=checkpoint.size, root=checkpoint.root, at=checkpoint.time,
                note=checkpoint.note))
