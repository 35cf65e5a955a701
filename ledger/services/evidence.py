"""Integrity evidence for a named person: verification, checkpoints, proofs and bundles.

The key holder runs ``ledger verify``, ``checkpoint``, ``proof`` and ``export bundle``
locally, where no role applies (:mod:`ledger.services.integrity`, :mod:`.proofs`). Over the
HTTP service the same calls are made for an authenticated staff member, so they are
audited uses like any other: the roles table decides (``integrity.evidence``), a refusal
is recorded and raised, and a granted use is recorded in the main store after the work is
done and before its result is handed out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import TypeVar
from uuid import UUID

from ledger.aggregates.audit import Action
from ledger.integrity.records import Checkpoint, Report
from ledger.keys.pseudonyms import ClientIds
from ledger.primitives.chain import Head
from ledger.rules import roles
from ledger.services.audited import Attempt
from ledger.services.integrity import Integrity
from ledger.services.proofs import Proofs
from ledger.stores.main import MainStore
from ledger.views import ConsistencyProof, InclusionProof

T = TypeVar("T")


class EvidenceService:
    def __init__(self, main: MainStore, integrity: Integrity, proofs: Proofs,
                 client_id: ClientIds) -> None:
        self.main = main
        self.integrity = integrity
        self.proofs = proofs
        self.client_id = client_id

    def verify(self, *, by: str, at: datetime, known_heads: Mapping[str, Head] | None = None,
               use_known_head: bool = True) -> list[Report]:
        """Both stores' chains verified (:meth:`Integrity.verify`), for ``by``."""
        return self._use(by, at, "access", "integrity", "verify the stores",
                         lambda: self.integrity.verify(at=at, known_heads=known_heads,
                                                       use_known_head=use_known_head))

    def checkpoint(self, *, by: str, at: datetime) -> list[tuple[Checkpoint, Path]]:
        """A signed checkpoint of each store (:meth:`Integrity.checkpoint`), for ``by``."""
        return self._use(by, at, "originate", "checkpoint", "sign checkpoints",
                         lambda: self.integrity.checkpoint(at=at))

    def inclusion(self, position: int, *, by: str, at: datetime, store: str = "main",
                  size: int | None = None, checkpoint: str | None = None) -> InclusionProof:
        return self._use(by, at, "access", "proof", "hand out proofs",
                         lambda: self.proofs.inclusion(position, store=store, size=size,
                                                       checkpoint=checkpoint))

    def consistency(self, old: int, new: int, *, by: str, at: datetime,
                    store: str = "main") -> ConsistencyProof:
        return self._use(by, at, "access", "proof", "hand out proofs",
                         lambda: self.proofs.consistency(old, new, store=store))

    def export_bundle(self, directory: Path, *, by: str, at: datetime,
                      stores: tuple[str, ...] = ("main", "pn"), client_ref: str | None = None,
                      since: date | None = None, until: date | None = None
                      ) -> list[tuple[str, int]]:
        """An evidence bundle written to ``directory`` (:meth:`Proofs.export_bundle`)."""
        client_id = self.client_id(client_ref) if client_ref is not None else None
        return self._use(by, at, "export", "evidence-bundle", "export evidence bundles",
                         lambda: self.proofs.export_bundle(
                             directory, stores=stores, client_ref=client_ref, since=since,
                             until=until), client_id=client_id)

    def _use(self, by: str, at: datetime, action: Action, object_type: str, what: str,
             work: Callable[[], T], client_id: UUID | None = None) -> T:
        with Attempt(self.main, by, action, object_type, at=at, client_id=client_id) as use:
            use.decide(roles.HANDLE_EVIDENCE, what=what)
            result = work()
            use.commit()
        return result
