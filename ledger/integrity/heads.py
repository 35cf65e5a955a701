"""Known chain heads, kept outside the database so that tail truncation is detectable.

Each store records its head (position and chain value) in ``<data dir>/heads/<store>.json``
after every commit and every clean verification. A head only moves forward: a store that
later ends before it, or no longer passes through it, fails verification as truncated or
recomputed. Writers in several threads or processes take a lock file around the
read-compare-replace, so a slow writer never moves the head back.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from ledger.errors import BadInput
from ledger.primitives.chain import Head


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


class HeadFile:
    """The known head of one store. ``path`` None (an in-memory store): nothing is kept."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()

    def read(self) -> Head | None:
        if self.path is None or not self.path.exists():
            return None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return Head(int(data["position"]), bytes.fromhex(data["chain"]))
        except (OSError, ValueError, KeyError, TypeError):
            raise BadInput(f"known-head file {self.path} is unreadable") from None

    def record(self, head: Head, at: datetime,
               extends: Callable[[Head], bool] | None = None) -> bool:
        """Remember ``head`` unless the file already records a later one. With ``extends``,
        only if ``extends(known head)`` says the store still passes through the head
        recorded before: a truncated or rewritten store never moves its known head (so
        verification keeps reporting it). False if the head was not moved for that."""
        if self.path is None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, open(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            existing = self.read()
            if existing is not None and existing.position >= head.position:
                return True
            if existing is not None and extends is not None and not extends(existing):
                return False
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"position": head.position, "chain": head.chain.hex(),
                                       "recorded_at": at.isoformat()}), encoding="utf-8")
            tmp.replace(self.path)
        return True
