"""Integrity: verify both stores' chains, and issue signed checkpoints of both.

A clean verification, or any commit, moves each store's known head forward (outside the
database). A checkpoint is signed only over a chain verified since the previous signed
checkpoint (read from its exported file, signature checked), a Merkle root recomputed
from the verified leaves, and a consistency proof from the previous signed root
(:mod:`ledger.integrity.attest`). Each is exported to the checkpoint directory, outside
the database, and mirrored in the store's checkpoint table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

from ledger.aggregates.base import utc
from ledger.errors import IntegrityFailure
from ledger.integrity.attest import sign_next
from ledger.integrity.checkpoint import Checkpoint, CheckpointFiles, origin_for
from ledger.integrity.verify import Report
from ledger.keys.signing import load_signing_key
from ledger.primitives.chain import Head
from ledger.primitives.crypto import signing_public_key
from ledger.settings import Settings
from ledger.stores.store import Store

STORES = ("main", "pn")


class Integrity:
    def __init__(self, stores: Mapping[str, Callable[[], Store]], settings: Settings) -> None:
        self._stores = stores
        self.settings = settings
        self.files = CheckpointFiles(settings.checkpoints)

    def verify(self, *, at: datetime, known_heads: Mapping[str, Head] | None = None,
               use_known_head: bool = True) -> list[Report]:
        """Verify each store on its own (``known_heads`` overrides a store's recorded head);
        a clean store's verified head becomes its known head. One store's damage never
        hides the other's report."""
        at = utc(at)
        known = known_heads or {}
        stores = {name: self._stores[name]() for name in STORES}  # opened in this thread

        def verify(name: str) -> Report:
            return stores[name].verify(known_head=known.get(name),
                                       use_known_head=use_known_head, at=at)

        if all(s.engine.dialect.name == "sqlite" for s in stores.values()):
            return [verify(name) for name in STORES]  # all in this process: no overlap
        # A database server works while this process hashes: the stores share nothing,
        # so they are walked at once (the driver releases the GIL while it waits).
        with ThreadPoolExecutor(max_workers=len(STORES)) as pool:
            return list(pool.map(verify, STORES))

    def checkpoint(self, *, at: datetime, out: Path | None = None
                   ) -> list[tuple[Checkpoint, Path]]:
        """One checkpoint per store (also when nothing changed, so gaps show), written to
        the checkpoint directory as ``<store>/<size>-<time>.note`` (and a copy to ``out``).
        IntegrityFailure, with nothing signed for that store, if its log does not extend
        its previous checkpoint."""
        at = utc(at)
        private = load_signing_key(self.settings.data_dir)
        public = signing_public_key(private)
        written: list[tuple[Checkpoint, Path]] = []
        for name in STORES:
            store = self._stores[name]()
            store_name = store.settings.name
            signed = self.latest_signed(store, public)
            checkpoint, head = sign_next(
                store.event_log, store.tree, private=private, at=at, signed=signed,
                origin=origin_for(self.settings.checkpoint_origin, public, store_name),
                known=store.heads.read())
            path = self.files.write(store_name, checkpoint)
            if out is not None:
                path = self.files.write(store_name, checkpoint, out)
            store.checkpoints.record(checkpoint)
            if head is not None:
                store.heads.record(head, at, extends=store.passes_through)
            written.append((checkpoint, path))
        return written

    def latest_signed(self, store: Store, public: bytes) -> Checkpoint | None:
        """The store's latest checkpoint as exported and signed; IntegrityFailure if the
        database lists checkpoints but none was found outside it."""
        signed = self.files.latest(store.settings.name, public)
        if signed is None and store.checkpoints.notes():
            raise IntegrityFailure(
                f"{store.settings.name}: the database lists checkpoints but "
                f"{self.files.directory / store.settings.name} holds none: restore the "
                "exported notes (or set LEDGER_CHECKPOINT_DIR to where they are)")
        return signed
