"""Known chain heads, kept outside the database so that tail truncation is detectable.

After each write and each clean verification the CLI records the store's head
(position and chain value) in ``<data dir>/heads/<store>.json``. A head only moves
forward: a store that later ends before it, or no longer passes through it, fails
verification as truncated or recomputed.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, Table, select

from ledger.errors import BadInput
from ledger.integrity.verify import KnownHead


def read_head(path: Path) -> KnownHead | None:
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return KnownHead(int(data["position"]), bytes.fromhex(data["chain"]))
    except (OSError, ValueError, KeyError, TypeError):
        raise BadInput(f"known-head file {path} is unreadable") from None


def parse_head(text: str) -> KnownHead:
    """Parse ``POSITION:HEX`` as given on the command line."""
    position, _, chain = text.partition(":")
    try:
        head = KnownHead(int(position), bytes.fromhex(chain))
    except ValueError:
        raise BadInput("a head is POSITION:HEX, e.g. 42:9f86d081...") from None
    if head.position < 1 or len(head.chain) != 32:
        raise BadInput("a head needs a position of at least 1 and a 32-byte hex chain value")
    return head


def current_head(engine: Engine, chain: Table) -> KnownHead | None:
    c = chain.c
    with engine.connect() as conn:
        row = conn.execute(select(c.position, c.chain).order_by(c.position.desc()).limit(1)).first()
    return KnownHead(int(row[0]), bytes(row[1])) if row else None


def record_head(path: Path, head: KnownHead | None, at: datetime) -> None:
    """Remember ``head`` unless the file already records a later one."""
    if head is None:
        return
    existing = read_head(path)
    if existing is not None and existing.position >= head.position:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"position": head.position, "chain": head.chain.hex(),
                               "recorded_at": at.isoformat()}), encoding="utf-8")
    tmp.replace(path)
