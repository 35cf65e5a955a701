"""Proofs an outsider can check: inclusion and consistency proofs (RFC 9162) over a store's
chain leaves, and evidence bundles that ``verify-bundle`` re-checks offline.

Every proof is checked before it is handed out; a proof against a signed checkpoint is
made only after the checkpoint's signature is checked with the public key and the store's
tree is found to still hold the checkpoint's root.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path

from ledger.aggregates.client import Client
from ledger.errors import BadInput, IntegrityFailure
from ledger.integrity.bundle import export
from ledger.integrity.checkpoint import parse_note, tree_has
from ledger.primitives import merkle
from ledger.stores.clinical import ClinicalStore
from ledger.views import ConsistencyProof, InclusionProof


class Proofs:
    def __init__(self, stores: Mapping[str, Callable[[], ClinicalStore]]) -> None:
        self._stores = stores

    def inclusion(self, position: int, *, store: str = "main", size: int | None = None,
                  checkpoint: str | None = None, public_key: bytes | None = None
                  ) -> InclusionProof:
        """Prove the event at ``position`` is in the tree of the first ``size`` events, or
        in the tree the signed ``checkpoint`` (its note's text) commits to."""
        tree = self._stores[store]().tree
        tree.catch_up()
        origin = None
        if checkpoint is not None:
            if public_key is None:
                raise BadInput("a checkpoint is checked with the signer's public key")
            signed = parse_note(checkpoint, public_key)
            if size is not None and size != signed.size:
                raise BadInput("--size and --checkpoint disagree; give one")
            size, origin = signed.size, signed.origin
            if signed.size <= tree.size() and not tree_has(tree, signed.size, signed.root):
                raise IntegrityFailure(f"the {store} store's tree of size {signed.size} does "
                                       "not have the checkpoint's root: the log was rewritten")
        size = tree.size() if size is None else size
        if size < 1 or position > size or size > tree.size():
            raise BadInput(f"position {position} and size {size} must lie within the "
                           f"{tree.size()} events of the {store} store")
        path = tree.inclusion(position, size)
        leaf, root = tree.leaf(position), tree.root(size)
        if not merkle.verify_inclusion(leaf, position - 1, size, path, root):
            raise IntegrityFailure(f"the inclusion proof for position {position} does not "
                                   "verify")
        return InclusionProof(store=store, position=position, size=size, leaf=leaf, root=root,
                              proof=tuple(path), verified=True, checkpoint=origin)

    def consistency(self, old: int, new: int, *, store: str = "main") -> ConsistencyProof:
        """Prove the tree of the first ``old`` events is a prefix of the tree of ``new``."""
        tree = self._stores[store]().tree
        tree.catch_up()
        if not old <= new <= tree.size():
            raise BadInput(f"sizes must satisfy OLD <= NEW <= {tree.size()} (the {store} "
                           "store)")
        path = tree.consistency(old, new)
        old_root, new_root = tree.root(old), tree.root(new)
        if not merkle.verify_consistency(old, new, old_root, new_root, path):
            raise IntegrityFailure(f"the consistency proof from {old} to {new} does not "
                                   "verify")
        return ConsistencyProof(store=store, old=old, new=new, old_root=old_root,
                                new_root=new_root, proof=tuple(path), verified=True)

    def export_bundle(self, directory: Path, *, stores: tuple[str, ...] = ("main", "pn"),
                      client_ref: str | None = None, since: date | None = None,
                      until: date | None = None) -> list[tuple[str, int]]:
        """Events as stored with their proofs against the latest signed checkpoint, per
        store, in a new directory (complete or absent): all of them, or what concerns one
        client, or the access and disclosure events of a period."""
        if directory.exists():
            raise BadInput(f"{directory} already exists; give a new directory")
        client_id = Client.id_for(client_ref) if client_ref else None
        cut = client_id is not None or since is not None or until is not None
        directory.mkdir(parents=True)
        try:
            counts = []
            for name in stores:
                store = self._stores[name]()
                positions = (store.evidence_positions(client_id=client_id, since=since,
                                                      until=until) if cut else None)
                counts.append((store.settings.name,
                               export(store.checkpoints, directory, positions=positions)))
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)  # a bundle is complete or absent
            raise
        return counts
