"""Integrity: verify both stores' chains, and issue signed checkpoints of both.

A clean verification, or any commit, moves each store's known head forward (outside the
database). A checkpoint is signed only over a chain that verifies and a tree that extends
the previous checkpoint as signed; each is exported to a file outside the database.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from ledger.aggregates.base import utc
from ledger.integrity.checkpoint import Checkpoint
from ledger.integrity.verify import Report
from ledger.keys.signing import load_signing_key
from ledger.primitives.chain import Head
from ledger.stores.store import Store

STORES = ("main", "pn")


class Integrity:
    def __init__(self, stores: Mapping[str, Callable[[], Store]], data_dir: Path) -> None:
        self._stores = stores
        self.data_dir = data_dir

    def verify(self, *, at: datetime, known_heads: Mapping[str, Head] | None = None,
               use_known_head: bool = True) -> list[Report]:
        """Verify each store on its own (``known_heads`` overrides a store's recorded head);
        a clean store's verified head becomes its known head. One store's damage never
        hides the other's report."""
        at = utc(at)
        known = known_heads or {}
        return [self._stores[name]().verify(known_head=known.get(name),
                                            use_known_head=use_known_head, at=at)
                for name in STORES]

    def checkpoint(self, *, at: datetime, out: Path | None = None
                   ) -> list[tuple[Checkpoint, Path]]:
        """One checkpoint per store (also when nothing changed, so gaps show), each written
        to ``out`` (default ``<data dir>/checkpoints``) as ``<store>/<size>-<time>.note``."""
        at = utc(at)
        private = load_signing_key(self.data_dir)
        directory = out or self.data_dir / "checkpoints"
        written: list[tuple[Checkpoint, Path]] = []
        for name in STORES:
            store = self._stores[name]()
            checkpoint = store.checkpoints.issue(private, at, store.verify(at=at))
            folder = directory / store.settings.name
            folder.mkdir(parents=True, exist_ok=True)
            stamp = at.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
            path = folder / f"{checkpoint.size:012d}-{stamp}.note"
            path.write_text(checkpoint.note, encoding="utf-8")
            written.append((checkpoint, path))
        return written
