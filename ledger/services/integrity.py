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
from dataclasses import replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from ledger.aggregates.base import utc
from ledger.errors import IntegrityFailure, LedgerError, NotInitialised
from ledger.integrity.attest import sign_next
from ledger.integrity.checkpoint import CheckpointFiles, origin_for
from ledger.integrity.journal import Entry, Journal, check_head, head_of
from ledger.integrity.records import Checkpoint, Damage, Report
from ledger.keys.signing import key_paths, load_signing_key
from ledger.primitives.chain import Head
from ledger.primitives.crypto import signing_public_key
from ledger.settings import Settings
from ledger.stores.readonly import client_keys
from ledger.stores.store import Store

if TYPE_CHECKING:
    from ledger.stores.readonly import ReadOnlyStore

STORES = ("main", "pn")


def verify_read_only(settings: Settings, *, at: datetime,
                     known_heads: Mapping[str, Head] | None = None,
                     use_known_head: bool = True) -> list[Report]:
    """Verify both stores as :meth:`Integrity.verify` does, opening each for reading only,
    with no key-encryption key and nothing caught up: a read-only copy verifies. A store
    that cannot be read at all is reported damaged (``unreadable``)."""
    from ledger.stores.readonly import ReadOnlyStore  # noqa: PLC0415

    at = utc(at)
    known = known_heads or {}
    opened: dict[str, ReadOnlyStore] = {}
    try:
        for name, configured in (("main", settings.main), ("pn", settings.pn)):
            opened[name] = ReadOnlyStore(configured)
        if not any(store.exists for store in opened.values()):
            raise NotInitialised(f"no store in {settings.data_dir}: run 'ledger init', or "
                                 "give the data directory (of a copy) with --data-dir")
        public = _public_key(settings)
        files = CheckpointFiles(settings.checkpoints)
        reports = _each([s.engine for s in opened.values()], lambda name: _against_signed(
            opened[name], files, public, opened[name].verify(
                known_head=known.get(name), use_known_head=use_known_head, at=at)))
        return [*reports, journal_report(settings, {
            s.settings.name: s.client_keys for s in opened.values()})]
    finally:
        for each in opened.values():
            each.close()


def _public_key(settings: Settings) -> bytes | None:
    from ledger.keys.signing import load_public_key  # noqa: PLC0415

    path = key_paths(settings.keys)[1]
    return load_public_key(path) if path.exists() else None


def _against_signed(store: ReadOnlyStore | Store, files: CheckpointFiles, public: bytes | None,
                    report: Report) -> Report:
    """A clean report checked against the store's latest signed checkpoint (when there is
    a public key to check it with): the log must still reach it and pass through its chain
    value, so putting back an older copy, heads and all, fails; a checkpoint epoch begun by
    ``ledger restore`` is reported."""
    if not report.ok or public is None:
        return report
    name = store.settings.name
    try:
        signed = files.latest(name, public)
    except IntegrityFailure as e:
        return replace(report, damage=Damage("checkpoint", 0, None, str(e)))
    if signed is None:
        return report
    if report.events < signed.size:
        return replace(report, damage=Damage(
            "truncated", report.events + 1, None,
            f"store ends at position {report.events} but the latest {signed.describe()} "
            f"covers position {signed.size} (an older copy put back without 'ledger restore')"))
    if signed.size and signed.chain is not None and not store.passes_through(
            Head(signed.size, signed.chain)):
        return replace(report, damage=Damage(
            "chain-altered", signed.size, None,
            f"the chain no longer passes through the latest {signed.describe()}"))
    return replace(report, restored=signed.restored)


def journal_cut(settings: Settings, entries: list[Entry], public: bytes) -> str | None:
    """Whether the journal still holds what each store's latest signed checkpoint recorded
    of it (IntegrityFailure if a note does not verify)."""
    files = CheckpointFiles(settings.checkpoints)
    for store in (settings.main, settings.pn):
        signed = files.latest(store.name, public)
        if signed is not None and signed.journal is not None:
            problem = check_head(entries, signed.journal, f"latest {store.name} "
                                 f"{signed.describe()}")
            if problem is not None:
                return problem
    return None


def journal_report(settings: Settings, keys: Mapping[str, Callable[[], dict[UUID, bool]]]
                   ) -> Report:
    """The destruction journal checked (chain and signatures with the checkpoint public
    key) and compared with each store's key table: a report for ``journal``, its events
    the entries; damage ``journal`` (the file), ``resurrected`` or ``unjournalled``."""
    from ledger.integrity.journal import compare  # noqa: PLC0415
    def damaged(kind: str, detail: str, events: int = 0) -> Report:
        return Report("journal", events, None, Damage(kind, 0, None, detail))

    journal = Journal(settings.journal)
    found = {}
    for name, read in keys.items():
        try:
            found[name] = read()
        except DBAPIError:
            continue  # an unreadable store: its own report names it
    public_path = key_paths(settings.keys)[1]
    try:
        public = _public_key(settings)
        if public is None:
            if journal.path is not None and journal.path.exists():
                return damaged("journal", f"the checkpoint public key {public_path} is "
                               "missing, so the destruction journal cannot be checked")
            entries = []
        else:
            entries = journal.read(public)
            cut = journal_cut(settings, entries, public)
            if cut is not None:
                return damaged("journal", cut, len(entries))
    except LedgerError as e:
        return damaged("journal", str(e))
    problem = compare(entries, found)
    if problem is not None and not entries and not settings.journal.exists():
        # No journal yet: clients purged before it existed (the next purge run journals
        # them). A removed journal shows the same; restore refuses on it.
        return Report("journal", 0, None, None, notice=(
            "no destruction journal yet, but destroyed clients exist (purged before the "
            "journal existed, or it was removed): 'ledger retention run' journals them"))
    if problem is not None:
        kind = "unjournalled" if "is not in the destruction journal" in problem \
            else "resurrected"
        return damaged(kind, problem, len(entries))
    return Report("journal", len(entries), None, None)


def legacy_client_ids_read_only(settings: Settings) -> bool:
    """Whether the main store's client ids are the legacy, reversible ones: it holds no
    record of keyed ids (read only, no secret and no key needed; call it on a store that
    holds events)."""
    from ledger.keys.pseudonyms import PseudonymRecord  # noqa: PLC0415
    from ledger.persistence.readonly import read_only_engine  # noqa: PLC0415

    engine = read_only_engine(settings.main.url)
    try:
        return PseudonymRecord(engine, settings.main.schema).read() is None
    finally:
        engine.dispose()


def _each(engines: list[Engine], verify: Callable[[str], Report]) -> list[Report]:
    """Each store's report; on a database server the stores are walked at once (they share
    nothing, and the driver releases the GIL while it waits)."""
    if all(e.dialect.name == "sqlite" for e in engines):
        return [verify(name) for name in STORES]  # all in this process: no overlap
    with ThreadPoolExecutor(max_workers=len(STORES)) as pool:
        return list(pool.map(verify, STORES))


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
        public = _public_key(self.settings)
        reports = _each([s.engine for s in stores.values()], lambda name: _against_signed(
            stores[name], self.files, public, stores[name].verify(
                known_head=known.get(name), use_known_head=use_known_head, at=at)))
        return [*reports, journal_report(self.settings, {
            s.settings.name: partial(client_keys, s.engine, s.keyring.table)
            for s in stores.values()})]

    def checkpoint(self, *, at: datetime, out: Path | None = None
                   ) -> list[tuple[Checkpoint, Path]]:
        """One checkpoint per store (also when nothing changed, so gaps show), written to
        the checkpoint directory as ``<store>/<size>-<time>.note`` (and a copy to ``out``).
        IntegrityFailure, with nothing signed for that store, if its log does not extend
        its previous checkpoint."""
        at = utc(at)
        private = load_signing_key(self.settings.keys)
        public = signing_public_key(private)
        journal = head_of(Journal(self.settings.journal).read(public))  # checked first
        written: list[tuple[Checkpoint, Path]] = []
        for name in STORES:
            store = self._stores[name]()
            store_name = store.settings.name
            signed = self.latest_signed(store, public)
            checkpoint, head = sign_next(
                store.event_log, store.tree, private=private, at=at, signed=signed,
                origin=origin_for(self.settings.checkpoint_origin, public, store_name),
                known=store.heads.read(), journal=journal)
            # The copy first: if --out cannot be written, nothing is recorded anywhere.
            copy = self.files.write(store_name, checkpoint, out) if out is not None else None
            path = self.files.write(store_name, checkpoint)
            store.checkpoints.record(checkpoint)
            if head is not None:
                store.heads.record(head, at, extends=store.passes_through)
            written.append((checkpoint, copy or path))
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
