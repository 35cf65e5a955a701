"""``ledger backup``: a consistent online copy of both stores, with their heads, their
signed checkpoints and the destruction journal, verified after writing, and a signed
manifest. Never a key: key-encryption keys, the signing key and the pseudonym secret are
backed up separately, on their own schedule (README "Backup and restore").

Each store is copied from one snapshot of it while writers go on: SQLite through its
backup API (one step, one read transaction), PostgreSQL in one REPEATABLE READ READ ONLY
transaction (:mod:`ledger.services.pg_copy`), both stores in the same one when they share
a database. Otherwise the sealed store is copied first, then the main store, so that every
staff member and client the sealed store names is in the main store's copy.

Before the copy each store's known head and latest signed checkpoint are read; the copy
must pass through both (a store already behind its signed log is not backed up). After
writing, each copy's chain is walked again from the files, its Merkle root recomputed and
checked against the latest signed checkpoint it holds.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from ledger.aggregates.base import utc
from ledger.errors import BadInput, IntegrityFailure, NotInitialised
from ledger.integrity import manifest as manifests
from ledger.integrity.checkpoint import CheckpointFiles, parse_note
from ledger.integrity.heads import HeadFile
from ledger.integrity.journal import Journal
from ledger.integrity.manifest import Manifest, StoreCopy
from ledger.integrity.records import Checkpoint
from ledger.integrity.verify import verify_store
from ledger.keys.signing import load_signing_key
from ledger.limits import read_note
from ledger.persistence.readonly import log_tables, read_only_engine, sqlite_path
from ledger.primitives import private_files
from ledger.primitives.chain import Head
from ledger.primitives.crypto import signing_public_key
from ledger.services.pg_copy import copy_as_sqlite, copy_stores
from ledger.settings import Settings, StoreSettings
from ledger.stores.probe import PREFIXES

JOURNAL = "journal/destructions.jsonl"


@dataclass(frozen=True)
class Before:
    """What was known of a store outside its database before the copy."""

    known: Head | None
    signed: Checkpoint | None


def take_backup(settings: Settings, out: Path, *, at: datetime) -> Manifest:
    """Copy both stores into the new directory ``out`` and sign its manifest. If anything
    fails, nothing is left there (a directory without a manifest is never a backup)."""
    at = utc(at)
    private = load_signing_key(settings.keys)
    public = signing_public_key(private)
    stores = (settings.pn, settings.main)  # the sealed store first (module docstring)
    if any(not _exists(s) for s in stores):
        raise NotInitialised(f"no store in {settings.data_dir}: run 'ledger init'")
    files = CheckpointFiles(settings.checkpoints)
    before = {s.name: Before(HeadFile(s.heads_file).read(), files.latest(s.name, public))
              for s in stores}
    with _new_directory(out):
        on_server = [s for s in stores if _backend(s) == "postgresql"]
        copied = copy_stores(on_server, out) if on_server else {}
        copied |= {s.name: _copy_sqlite(s, out) for s in stores if s not in on_server}
        journal = _copy_journal(settings, out, public)
        copies = {s.name: _verify_copy(s, out, copied[s.name], before[s.name], public)
                  for s in stores}
        notes = _copy_notes(settings, out, public, copies)
        manifest = Manifest(taken_at=at, stores=copies, journal=journal[0],
                            journal_entries=journal[1], notes=notes)
        manifests.write(out, manifest, private)
    return manifest


def _exists(store: StoreSettings) -> bool:
    path = sqlite_path(store.url)
    return path is None or path.exists()


@contextmanager
def _new_directory(out: Path) -> Iterator[None]:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BadInput(f"{out} already exists and is not an empty directory; give a new one")
    made = not out.exists()
    private_files.make_dir(out)
    try:
        yield
    except BaseException:
        if made:
            shutil.rmtree(out, ignore_errors=True)
        else:
            for child in out.iterdir():
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        raise


# ----- SQLite ------------------------------------------------------------------------------

def _copy_sqlite(store: StoreSettings, out: Path) -> dict[str, str]:
    """The store's database through SQLite's backup API: one read transaction, so one
    snapshot, while writers go on (WAL). The copy is left in rollback-journal mode, one
    self-contained file."""
    source = sqlite_path(store.url)
    assert source is not None
    name = f"{store.name}.sqlite"
    os.close(private_files.create(out / name))
    src = sqlite3.connect(source, timeout=30)
    try:
        dst = sqlite3.connect(out / name)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    finally:
        src.close()
    return {name: manifests.digest(out / name)}


def copy_engine(out: Path, files: dict[str, str]) -> Engine:
    """An engine on a store's copy in a backup, read only (a server's copy loaded into
    an in-memory database)."""
    if any(not f.endswith(".sqlite") for f in files):
        return copy_as_sqlite(out, files)
    return read_only_engine(f"sqlite:///{out / next(iter(files))}")


# ----- verification of the copy ---------------------------------------------------------------

def _verify_copy(store: StoreSettings, out: Path, files: dict[str, str], before: Before,
                 public: bytes) -> StoreCopy:
    engine = copy_engine(out, files)
    try:
        return check_copy(store.name, engine, files, before, backend=_backend(store))
    finally:
        engine.dispose()


def _backend(store: StoreSettings) -> str:
    return "postgresql" if store.url.startswith("postgresql") else "sqlite"


def check_copy(name: str, engine: Engine, files: dict[str, str], before: Before, *,
               backend: str) -> StoreCopy:
    """Walk a copy's chain from its files: it must be intact, pass through the head known
    before the copy and reach the latest signed checkpoint, with its root and chain value
    (IntegrityFailure naming the store otherwise)."""
    events, chain = log_tables(PREFIXES[name], None)
    signed = before.signed
    marks = frozenset({signed.size}) if signed is not None and signed.size else frozenset()
    report = verify_store(engine, events, chain, store=name, known_head=before.known,
                          marks=marks, roots=True)
    if report.damage is not None:
        raise IntegrityFailure(f"the copy of the {name} store does not verify: "
                               f"{report.damage.describe()}; nothing was backed up")
    if signed is not None and signed.size:
        mark = report.marks.get(signed.size)
        if mark is None or mark.root != signed.root or (
                signed.chain is not None and mark.chain != signed.chain):
            raise IntegrityFailure(f"the copy of the {name} store does not reach its latest "
                                   f"{signed.describe()}; nothing was backed up")
    return StoreCopy(name=name, backend=backend, files=files, events=report.events,
                     head=report.head, root=report.root,
                     checkpoint_epoch=signed.epoch if signed else 0,
                     checkpoint_size=signed.size if signed else 0)


def _copy_journal(settings: Settings, out: Path, public: bytes) -> tuple[dict[str, str], int]:
    """The destruction journal as it is now (checked first), if there is one."""
    journal = Journal(settings.journal)
    entries = journal.read(public)
    if not settings.journal.exists():
        return {}, 0
    private_files.make_dir((out / JOURNAL).parent)
    data = settings.journal.read_bytes()
    private_files.write_new(out / JOURNAL, data[:data.rfind(b"\n") + 1])
    if len(Journal(out / JOURNAL).read(public)) != len(entries):
        raise IntegrityFailure("the destruction journal changed while it was copied; "
                               "nothing was backed up: run the backup again")
    return {JOURNAL: manifests.digest(out / JOURNAL)}, len(entries)


def _copy_notes(settings: Settings, out: Path, public: bytes,
                copies: dict[str, StoreCopy]) -> dict[str, str]:
    """Every signed note the copy reaches: all of earlier epochs, and of the copy's epoch
    those not beyond it (a note signed while the copy was made may be)."""
    copied = {}
    for name, copy in copies.items():
        folder = settings.checkpoints / name
        for path in sorted(folder.glob("*.note")) if folder.is_dir() else []:
            note = parse_note(read_note(path, IntegrityFailure), public)
            if note.epoch >= max(copy.checkpoint_epoch, 1) and note.size > copy.events:
                continue
            target = Path("checkpoints") / name / path.name
            private_files.make_dir((out / target).parent)
            private_files.write_new(out / target, note.note.encode("utf-8"))
            copied[str(target)] = manifests.digest(out / target)
    return copied
