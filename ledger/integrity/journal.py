"""The destruction journal: every client the purge destroyed, kept outside the database.

A restore brings back database files as they were when the backup was taken; the journal,
kept beside the known heads (``<data dir>/journal/destructions.jsonl``), says which clients
were destroyed since, so that the restore destroys them again before the store accepts a
write (README "Backup and restore").

One JSON line per destroyed client, appended, never rewritten. Each entry holds its
sequence number, the client's pseudonymous id, when and under which rule it was destroyed
(the destruction receipt's own audit metadata: no content, no name), who ran the purge,
the hash of the previous entry, and an Ed25519 signature with the checkpoint key over

    entry hash = SHA-256("ledger/destruction-journal/v1" || 0x00 || canonical body)

the canonical body being the entry without its signature as RFC 8785 JSON (sorted keys,
no spaces; the values are strings and integers only). The first entry's previous hash is
32 zero bytes. Dropping, reordering, editing or inserting an entry breaks the chain or a
signature; forging one needs the signing key.

The purge appends a client's entry before it destroys the client's keys, so a destroyed
key is always journalled; a crash between the two leaves a journalled client whose key
still exists, which the next purge run finishes and ``verify`` reports meanwhile. A line
cut short by a crash (the last one, unterminated) is ignored by readers and removed by the
next append.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import json
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from hashlib import sha256
from pathlib import Path
from uuid import UUID

from ledger.errors import IntegrityFailure
from ledger.integrity.records import JournalHead
from ledger.primitives import private_files
from ledger.primitives.crypto import sign, signing_public_key, verify_signature

DOMAIN = b"ledger/destruction-journal/v1\x00"
GENESIS = bytes(32)
FORMAT = 1
MAX_LINE = 4096  # an entry is about 600 bytes
MAX_BYTES = 64 << 20  # a journal of about 100,000 destroyed clients


@dataclass(frozen=True)
class Entry:
    """One destroyed client, as the purge recorded it."""

    seq: int
    client_id: str
    at: str  # ISO 8601, UTC: when the purge destroyed it
    rule_id: str
    citation: str
    anchor: str
    anchor_date: str
    destroy_on: str
    actor_id: str
    actor_role: str
    prev: str  # hex SHA-256 of the previous entry (zeros for the first)
    format: int = FORMAT

    def body(self) -> bytes:
        return canonical(asdict(self))

    def digest(self) -> bytes:
        return sha256(DOMAIN + self.body()).digest()

    @property
    def moment(self) -> datetime:
        return datetime.fromisoformat(self.at)


@dataclass(frozen=True)
class Destroyed:
    """What a purge knows of a client it is destroying (the receipt's metadata)."""

    client_id: UUID
    at: datetime
    rule_id: str
    citation: str
    anchor: str
    anchor_date: str
    destroy_on: str
    actor_id: str
    actor_role: str


def canonical(data: dict[str, object]) -> bytes:
    """RFC 8785 for JSON of strings and integers: sorted keys, no whitespace, ASCII."""
    if not all(isinstance(v, str | int) and not isinstance(v, bool) for v in data.values()):
        raise ValueError("journal entries hold strings and integers only")
    return json.dumps(data, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=True).encode("ascii")


def _line(entry: Entry, private: bytes) -> bytes:
    signature = base64.b64encode(sign(private, entry.digest())).decode("ascii")
    return json.dumps({**asdict(entry), "sig": signature}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=True).encode("ascii") + b"\n"


def _parse(line: bytes, number: int, public: bytes) -> Entry:
    """One line, its signature checked; IntegrityFailure naming the line otherwise."""
    where = f"destruction journal line {number}"
    try:
        data = json.loads(line)
        signature = base64.b64decode(data.pop("sig"), validate=True)
        entry = Entry(**data)
        entry.body()  # the values' types
        if entry.format != FORMAT or not isinstance(entry.seq, int):
            raise ValueError
        UUID(entry.client_id)
        bytes.fromhex(entry.prev)
    except (ValueError, TypeError, KeyError, AttributeError, binascii.Error):
        raise IntegrityFailure(f"{where}: malformed entry") from None
    if not verify_signature(public, entry.digest(), signature):
        raise IntegrityFailure(f"{where}: the signature does not verify with the checkpoint "
                               "public key (edited or forged)")
    return entry


def check(entries: Iterable[Entry]) -> list[Entry]:
    """The entries if they form one chain (1, 2, ... each naming the previous entry's
    hash, each client once); IntegrityFailure naming the first that does not."""
    previous, seen, checked = GENESIS, set[str](), list[Entry]()
    for number, entry in enumerate(entries, start=1):
        where = f"destruction journal line {number}"
        if entry.seq != number:
            raise IntegrityFailure(f"{where}: sequence {entry.seq} where {number} belongs "
                                   "(an entry was dropped, inserted or reordered)")
        if entry.prev != previous.hex():
            raise IntegrityFailure(f"{where}: does not follow from the previous entry "
                                   "(an entry was dropped, inserted or reordered)")
        if entry.client_id in seen:
            raise IntegrityFailure(f"{where}: client {entry.client_id} is journalled twice")
        seen.add(entry.client_id)
        previous = entry.digest()
        checked.append(entry)
    return checked


class Journal:
    """The journal file. ``path`` None (an in-memory store): nothing is kept."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()

    def read(self, public: bytes) -> list[Entry]:
        """Every entry, signatures and chain checked (IntegrityFailure otherwise); empty if
        there is no journal."""
        return check(_parse(line, n, public) for n, line in enumerate(self._lines(), start=1))

    def journalled(self, public: bytes) -> set[UUID]:
        return {UUID(e.client_id) for e in self.read(public)}

    def append(self, destroyed: Iterable[Destroyed], private: bytes) -> list[Entry]:
        """Journal each client not journalled yet, durably (fsync), in order. The journal
        is checked first: a damaged journal is never extended (IntegrityFailure)."""
        if self.path is None:
            return []
        public = signing_public_key(private)
        with self._locked():
            entries = self.read(public)
            known = {e.client_id for e in entries}
            previous = entries[-1].digest() if entries else GENESIS
            lines: list[bytes] = []
            added: list[Entry] = []
            for d in destroyed:
                if str(d.client_id) in known:
                    continue
                entry = Entry(seq=len(entries) + len(added) + 1, client_id=str(d.client_id),
                              at=d.at.isoformat(), rule_id=d.rule_id, citation=d.citation,
                              anchor=d.anchor, anchor_date=d.anchor_date,
                              destroy_on=d.destroy_on, actor_id=d.actor_id,
                              actor_role=d.actor_role, prev=previous.hex())
                known.add(entry.client_id)
                previous = entry.digest()
                lines.append(_line(entry, private))
                added.append(entry)
            if lines:
                self._write(b"".join(lines))
        return added

    # ----- the file ------------------------------------------------------------------------

    def _lines(self) -> Iterator[bytes]:
        """The complete lines (an unterminated last line, cut by a crash, is skipped)."""
        if self.path is None or not self.path.exists():
            return
        try:
            with open(self.path, "rb") as f:
                data = f.read(MAX_BYTES + 1)
        except OSError as e:
            raise IntegrityFailure(f"the destruction journal {self.path} is unreadable: "
                                   f"{e.strerror or type(e).__name__}") from None
        if len(data) > MAX_BYTES:
            raise IntegrityFailure(f"the destruction journal {self.path} is larger than "
                                   f"{MAX_BYTES} bytes")
        for line in data.split(b"\n")[:-1]:  # the part after the last newline is cut
            if len(line) > MAX_LINE:
                raise IntegrityFailure(f"the destruction journal {self.path} has a line "
                                       f"longer than {MAX_LINE} bytes")
            yield line

    def _write(self, data: bytes) -> None:
        """Append ``data``, first cutting a line a crash left unterminated."""
        assert self.path is not None
        fd = private_files.open_private(self.path, os.O_RDWR)
        try:
            size = os.fstat(fd).st_size
            if size:
                os.lseek(fd, max(0, size - MAX_LINE - 1), os.SEEK_SET)
                tail = os.read(fd, MAX_LINE + 1)
                if not tail.endswith(b"\n"):
                    os.ftruncate(fd, size - (len(tail) - tail.rfind(b"\n") - 1))
            os.lseek(fd, 0, os.SEEK_END)
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        assert self.path is not None
        private_files.make_dir(self.path.parent)
        with self._lock:
            fd = private_files.open_private(self.path.with_suffix(".lock"), os.O_WRONLY)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # releases the lock


def head_of(entries: list[Entry]) -> JournalHead:
    """What a signed checkpoint records of the journal."""
    return JournalHead(len(entries), entries[-1].digest() if entries else GENESIS)


def check_head(entries: list[Entry], head: JournalHead, where: str) -> str | None:
    """Whether the journal still holds what ``head`` (from a signed note) recorded."""
    if head.entries > len(entries):
        return (f"the destruction journal has {len(entries)} entries but the {where} "
                f"records {head.entries}: entries were removed")
    if head.entries and entries[head.entries - 1].digest() != head.digest:
        return (f"the destruction journal's entry {head.entries} is not the one the {where} "
                "records: the journal was rewritten")
    return None


class JournalWriter:
    """The journal as the purge uses it: the signing key read when first needed."""

    def __init__(self, journal: Journal, private: Callable[[], bytes]) -> None:
        self.journal = journal
        self._private = private

    def journalled(self) -> set[UUID]:
        if self.journal.path is None:
            return set()
        return self.journal.journalled(signing_public_key(self._private()))

    def record(self, destroyed: Iterable[Destroyed]) -> None:
        if self.journal.path is not None:
            self.journal.append(destroyed, self._private())


def unjournalled(entries: Iterable[Entry], keys: dict[str, dict[UUID, bool]]) -> str | None:
    """A destroyed key the journal does not list (the journal was cut), or None."""
    journalled = {UUID(e.client_id) for e in entries}
    for store, found in keys.items():
        for client, destroyed in found.items():
            if destroyed and client not in journalled:
                return (f"client {client}'s key in the {store} store was destroyed but is not "
                        "in the destruction journal (an entry was removed, or the purge ran "
                        "before the journal existed: 'ledger retention run' journals it)")
    return None


def compare(entries: Iterable[Entry], keys: dict[str, dict[UUID, bool]]) -> str | None:
    """What disagrees between the journal and the stores' key tables (``keys``: per store,
    each client's data key and whether it is destroyed), or None. A journalled client must
    have a destroyed key in every store (a key that exists again came back from an older
    copy); a destroyed key must be journalled."""
    journalled_entries = list(entries)
    journalled = {UUID(e.client_id): e.seq for e in journalled_entries}
    for client, seq in journalled.items():
        for store, found in keys.items():
            if client not in found:
                return (f"client {client} (journal entry {seq}) has no destroyed key in the "
                        f"{store} store: the store is older than the destruction; run "
                        "'ledger restore' with a backup to re-apply the journal")
            if not found[client]:
                return (f"client {client} (journal entry {seq}) has a live data key in the "
                        f"{store} store again: an older copy brought it back (or a purge was "
                        "interrupted: 'ledger retention run' finishes it)")
    return unjournalled(journalled_entries, keys)
