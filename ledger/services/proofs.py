"""Proofs an outsider can check: inclusion and consistency proofs (RFC 9162) over a store's
chain leaves, and evidence bundles that ``verify-bundle`` re-checks offline.

Nothing handed out rests on the database alone. Proofs are against a signed checkpoint:
the store's latest, read from its exported file (signature checked with the public key),
or one given. A root of a smaller tree is taken from the cached Merkle nodes only after a
consistency proof from it to the signed root verifies, and every proof is verified against
that root before it is returned: cached nodes that disagree are an IntegrityFailure naming
the store and the position.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from ledger.errors import BadInput, IntegrityFailure
from ledger.integrity.bundle import event_leaf, export, exported_checkpoints, out_of_line
from ledger.integrity.checkpoint import parse_note
from ledger.integrity.proving import CachedNodes, anchored_root, not_proved
from ledger.integrity.records import Checkpoint
from ledger.keys.pseudonyms import ClientIds
from ledger.keys.signing import key_paths, load_public_key
from ledger.primitives import merkle, private_files
from ledger.settings import Settings
from ledger.stores.clinical import ClinicalStore
from ledger.views import ConsistencyProof, InclusionProof

if TYPE_CHECKING:
    from ledger.integrity.tree import StoredTree
    from ledger.services.integrity import Integrity

AFTER = "after the latest signed checkpoint (size {}); run ledger checkpoint first"


class Proofs:
    def __init__(self, stores: Mapping[str, Callable[[], ClinicalStore]],
                 settings: Settings, client_id: ClientIds) -> None:
        self._stores = stores
        self.settings = settings
        self.client_id = client_id

    @cached_property
    def _integrity(self) -> Integrity:
        from ledger.services.integrity import Integrity  # noqa: PLC0415

        return Integrity(self._stores, self.settings)

    def public_key(self) -> bytes:
        """The checkpoint signer's public key, from the data directory."""
        return load_public_key(key_paths(self.settings.keys)[1])

    def inclusion(self, position: int, *, store: str = "main", size: int | None = None,
                  checkpoint: str | None = None, public_key: bytes | None = None
                  ) -> InclusionProof:
        """Prove the event at ``position`` is in the tree of the store's latest signed
        checkpoint (or of the signed ``checkpoint``, its note's text), or in the tree of
        its first ``size`` events, which must not be more than the checkpoint covers."""
        opened = self._stores[store]()
        name = opened.settings.name
        public = public_key or self.public_key()
        if checkpoint is not None:
            signed = parse_note(checkpoint, public)
            problem = out_of_line(name, signed, None)
            if problem is not None:
                raise BadInput(f"the checkpoint {problem}")
            beyond = f"after the checkpoint given (size {signed.size})"
        else:
            signed = self._latest(opened, public)
            beyond = AFTER.format(signed.size)
        if size is not None and not 1 <= size <= signed.size:
            raise BadInput(f"size {size} is {beyond}" if size > 0 else "size must be 1 or more")
        size = signed.size if size is None else size
        if not 1 <= position <= size:
            raise BadInput(f"position {position} is {beyond}" if size == signed.size else
                           f"position {position} is not in the tree of the first {size} events")
        nodes = self._nodes(opened.tree, signed)
        root = self._root(name, nodes, size, signed)
        row = next(opened.event_log.stored_rows(position, [position]), None)
        if row is None:
            raise IntegrityFailure(f"{name}: position {position} is missing from the log; "
                                   "run ledger verify")
        leaf = event_leaf(name, row)
        path = merkle.inclusion_proof(nodes, position - 1, size)
        if not merkle.verify_inclusion(leaf, position - 1, size, path, root):
            raise not_proved(name, position, position, signed)
        return InclusionProof(store=store, position=position, size=size, leaf=leaf, root=root,
                              proof=tuple(path), verified=True, checkpoint=signed.origin)

    def consistency(self, old: int, new: int, *, store: str = "main",
                    public_key: bytes | None = None) -> ConsistencyProof:
        """Prove the tree of the first ``old`` events is a prefix of the tree of ``new``,
        both within the store's latest signed checkpoint."""
        opened = self._stores[store]()
        name = opened.settings.name
        signed = self._latest(opened, public_key or self.public_key())
        if not 1 <= old <= new:
            raise BadInput("sizes must satisfy 1 <= OLD <= NEW")
        if new > signed.size:
            raise BadInput(f"size {new} is {AFTER.format(signed.size)}")
        nodes = self._nodes(opened.tree, signed)
        old_root, new_root = self._root(name, nodes, old, signed), self._root(name, nodes,
                                                                              new, signed)
        path = merkle.consistency_proof(nodes, old, new)
        if not merkle.verify_consistency(old, new, old_root, new_root, path):
            raise IntegrityFailure(f"{name}: the consistency proof from size {old} to {new} "
                                   "made from the Merkle tree cached in the database does not "
                                   "verify: the cached nodes were altered; run ledger verify")
        return ConsistencyProof(store=store, old=old, new=new, old_root=old_root,
                                new_root=new_root, proof=tuple(path), verified=True)

    def export_bundle(self, directory: Path, *, stores: tuple[str, ...] = ("main", "pn"),
                      client_ref: str | None = None, since: date | None = None,
                      until: date | None = None, public_key: bytes | None = None
                      ) -> list[tuple[str, int]]:
        """Events as stored with their proofs against the latest signed checkpoint, per
        store, in a new directory: all of them, or what concerns one client, or the access
        and disclosure events of a period. Complete or absent: it is written beside the
        target (``<dir>.partial-*``) and renamed into place when done, and removed if
        anything fails or the export is interrupted."""
        if directory.exists():
            raise BadInput(f"{directory} already exists; give a new directory")
        public = public_key or self.public_key()
        client_id = self.client_id(client_ref) if client_ref else None
        cut = client_id is not None or since is not None or until is not None
        opened = [self._stores[name]() for name in stores]
        histories = [self._history(store, public) for store in opened]
        private_files.make_dir(directory.parent)
        staged = Path(tempfile.mkdtemp(prefix=f"{directory.name}.partial-",
                                       dir=directory.parent))
        os.chmod(staged, private_files.DIR_MODE)
        try:
            counts = []
            for store, history in zip(opened, histories, strict=True):
                positions = (store.evidence_positions(client_id=client_id, since=since,
                                                      until=until) if cut else None)
                counts.append((store.settings.name,
                               export(store.event_log, store.tree, history, staged,
                                      positions=positions)))
            if directory.exists():
                raise BadInput(f"{directory} already exists; give a new directory")
            staged.rename(directory)
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)  # a bundle is complete or absent
            raise
        return counts

    # ----- what the proofs rest on -----------------------------------------------------------

    def _latest(self, store: ClinicalStore, public: bytes) -> Checkpoint:
        signed = self._integrity.latest_signed(store, public)
        if signed is None:
            raise BadInput(f"the {store.settings.name} store has no checkpoint yet; run "
                           "ledger checkpoint first")
        return signed

    def _history(self, store: ClinicalStore, public: bytes) -> list[tuple[str, Checkpoint]]:
        """Every checkpoint of the store exported outside the database, signatures checked."""
        name = store.settings.name
        history = exported_checkpoints(self.settings.checkpoints / name, name, public)
        if not history:
            self._latest(store, public)  # says why there is none
        return history

    @staticmethod
    def _nodes(tree: StoredTree, signed: Checkpoint) -> CachedNodes:
        tree.catch_up()
        if tree.size() < signed.size:
            raise IntegrityFailure(f"{tree.log.name}: the log has {tree.size()} events but "
                                   f"the {signed.describe()} covers {signed.size}: it was "
                                   "truncated; run ledger verify")
        return CachedNodes(tree)

    @staticmethod
    def _root(store: str, nodes: CachedNodes, size: int, signed: Checkpoint) -> bytes:
        root = anchored_root(nodes, size, signed)
        if root is None:
            raise IntegrityFailure(
                f"{store}: the Merkle tree cached in the database does not prove the tree of "
                f"size {size} a prefix of the {signed.describe()}: the cached nodes were "
                "altered; run ledger verify")
        return root
