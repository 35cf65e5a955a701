"""Known chain heads, kept outside the database so that tail truncation is detectable.

Each store records its head (position and chain value) in ``<data dir>/heads/<store>.json``
after every commit and every clean verification. A head only moves forward: a store that
later ends before it, or no longer passes through it, fails verification as truncated or
recomputed.

The file is JSON Lines, one head per line, appended (cheap enough for every commit; a
rename per commit is not); the known head is the last complete line. When the file grows
past ``COMPACT_BYTES`` it is replaced by its last line. Writers in several threads or
processes take a lock file around the read-compare-append, so a slow writer never moves
the head back, and a line cut short by a crash is skipped when reading.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import IO

from ledger.errors import BadInput
from ledger.primitives import private_files
from ledger.primitives.chain import Head

COMPACT_BYTES = 1 << 20
TAIL_BYTES = 1024  # the last few lines (each about 130 bytes)


def parse_head(text: str) -> Head:
    """Parse ``POSITION:HEX`` as given on the command line."""
    position, _, chain = text.partition(":")
    try:
        head = Head(int(position), bytes.fromhex(chain))
    except ValueError:
        raise BadInput("a head is POSITION:HEX, e.g. 42:9f86d081...") from None
    if head.position < 1 or len(head.chain) != 32:
        raise BadInput("a head needs a position of at least 1 and a 32-byte hex chain value")
    return head


def _parse_line(line: bytes) -> Head | None:
    try:
        data = json.loads(line)
        head = Head(int(data["position"]), bytes.fromhex(data["chain"]))
    except (ValueError, KeyError, TypeError):
        return None
    return head if head.position >= 1 and len(head.chain) == 32 else None


class HeadFile:
    """The known head of one store. ``path`` None (an in-memory store): nothing is kept."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._lockfile: IO[str] | None = None  # opened on the first record, kept open
        # What this object last wrote: the file's (inode, size) then, and the head. While
        # the file is still that (no other writer since), the tail need not be read again.
        self._last: tuple[tuple[int, int], Head] | None = None

    def close(self) -> None:
        with self._lock:
            if self._lockfile is not None:
                self._lockfile.close()
                self._lockfile = None

    def read(self) -> Head | None:
        """The known head: the file's last complete line (one cut short by a crash is
        skipped)."""
        return self._known(self._tail())

    def record(self, head: Head, at: datetime,
               extends: Callable[[Head], bool] | None = None) -> bool:
        """Remember ``head`` unless the file already records a later one. With ``extends``,
        only if ``extends(known head)`` says the store still passes through the head
        recorded before: a truncated or rewritten store never moves its known head (so
        verification keeps reporting it). False if the head was not moved for that."""
        if self.path is None:
            return True
        line = json.dumps({"position": head.position, "chain": head.chain.hex(),
                           "recorded_at": at.isoformat()}).encode("utf-8") + b"\n"
        with self._lock:
            if self._lockfile is None:
                private_files.make_dir(self.path.parent)
                self._lockfile = os.fdopen(private_files.open_private(
                    self.path.with_suffix(".lock"), os.O_WRONLY | os.O_APPEND), "a")
            fcntl.flock(self._lockfile, fcntl.LOCK_EX)
            try:
                return self._append(line, head, extends)
            finally:
                fcntl.flock(self._lockfile, fcntl.LOCK_UN)

    def _append(self, line: bytes, head: Head, extends: Callable[[Head], bool] | None) -> bool:
        """Under the lock: compare with the known head, then append ``line``."""
        assert self.path is not None
        try:
            st = os.stat(self.path)
            identity = (st.st_ino, st.st_size)
        except FileNotFoundError:
            identity = (0, 0)
        if self._last is not None and self._last[0] == identity:
            existing: Head | None = self._last[1]  # nobody wrote since we did
        else:
            tail = self._tail()
            existing = self._known(tail)
            if tail and not tail.endswith(b"\n"):
                line = b"\n" + line  # a file written whole, or a line cut by a crash
        if existing is not None and existing.position >= head.position:
            return True
        if existing is not None and extends is not None and not extends(existing):
            return False
        fd = private_files.open_private(self.path, os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, line)
            after = os.fstat(fd)
        finally:
            os.close(fd)
        self._last = ((after.st_ino, after.st_size), head)
        if after.st_size > COMPACT_BYTES:  # rare: start again from the latest line
            private_files.replace(self.path, line.lstrip(b"\n"))
            self._last = None
        return True

    def _tail(self) -> bytes:
        if self.path is None or not self.path.exists():
            return b""
        try:
            with open(self.path, "rb") as f:
                size = f.seek(0, os.SEEK_END)
                f.seek(max(0, size - TAIL_BYTES))
                tail = f.read()
        except OSError:
            raise BadInput(f"known-head file {self.path} is unreadable") from None
        if size > TAIL_BYTES:
            tail = tail.split(b"\n", 1)[1] if b"\n" in tail else b""  # a cut first line
        return tail

    def _known(self, tail: bytes) -> Head | None:
        for line in reversed(tail.split(b"\n")):
            if line.strip() and (head := _parse_line(line)) is not None:
                return head
        if tail.strip():
            raise BadInput(f"known-head file {self.path} is unreadable")
        return None
