"""``ledger restore``: put a backup back without bringing back anything destroyed since.

1. The backup's manifest is checked (signature with this installation's checkpoint public
   key, every file's SHA-256) and each store's copy is walked again: intact, reaching its
   recorded head and its latest signed checkpoint.
2. A live store that holds data is replaced only with ``force``.
3. The copies are opened in a staging directory beside the live stores, where nobody
   writes. Every destruction in the destruction journal (the live one, and the backup's
   for entries the live one lacks) that the copy does not have is applied again: the
   receipts, then the data keys destroyed in both stores, then the files scrubbed.
4. Each staged store records a ``Restore`` event: the position it was restored to, how
   many events after it were lost (the known head and latest signed checkpoint outside
   the database say how far the store had gone), how many destructions were re-applied.
5. A new checkpoint epoch begins: each store's staged log is signed, the note saying
   ``epoch N`` and ``restored <position> <lost> <time>``. Later checkpoints extend it;
   the earlier epoch's notes stay, so the gap is in the signed log, not hidden.
6. Only then are the staged stores copied over the live ones (each in one SQLite
   transaction, or one PostgreSQL transaction that swaps the schemas), the known heads
   reset to the new heads and the epoch's notes exported.

The live journal is extended with any entry only the backup had before the swap, so a
destroyed key is always journalled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from uuid import UUID

from sqlalchemy.exc import DBAPIError

from ledger.aggregates.base import Actor, named_id, utc
from ledger.aggregates.restore import Restore
from ledger.errors import BadInput, IntegrityFailure, KeyMaterialError, NotInitialised
from ledger.integrity import manifest as manifests
from ledger.integrity.checkpoint import CheckpointFiles, make_note, origin_for, parse_note
from ledger.integrity.heads import HeadFile
from ledger.integrity.journal import Destroyed, Entry, Journal, head_of, unjournalled
from ledger.integrity.manifest import Manifest, StoreCopy
from ledger.integrity.records import Checkpoint, Restored
from ledger.integrity.verify import verify_store
from ledger.keys.epochs import Epochs
from ledger.keys.signing import load_signing_key
from ledger.persistence.readonly import read_only_engine
from ledger.primitives import private_files
from ledger.primitives.chain import Head
from ledger.primitives.crypto import signing_public_key
from ledger.services.backup import JOURNAL, Before, check_copy, copy_engine
from ledger.services.integrity import journal_cut
from ledger.services.swap import Staging, opened
from ledger.settings import Settings, StoreSettings
from ledger.stores.clinical import ClinicalStore
from ledger.stores.main import MainStore
from ledger.stores.probe import holds_data
from ledger.stores.psychotherapy import PsychotherapyStore


@dataclass(frozen=True)
class StoreRestored:
    store: str
    restored_to: int  # the backup's last position
    lost: int  # events after it that the known head or signed log had recorded
    reapplied: int  # destructions re-applied from the journal
    events: int  # the store's log now (the re-applied destructions and the Restore event)
    epoch: int


def restore(settings: Settings, source: Path, *, at: datetime,
            force: bool = False) -> list[StoreRestored]:
    """Restore ``source`` (a ``ledger backup`` directory) over the live stores."""
    at = utc(at)
    private = load_signing_key(settings.keys)
    public = signing_public_key(private)
    manifest = manifests.read(source, public)
    stores = {"main": settings.main, "psychotherapy": settings.pn}
    if set(manifest.stores) != set(stores):
        raise IntegrityFailure(f"{source}: the backup does not hold both stores")
    for name, copy in manifest.stores.items():
        _check_backup_copy(source, manifest, stores[name], copy, public)
    journal = Journal(settings.journal)
    entries = journal.read(public)
    cut = journal_cut(settings, entries, public)
    if cut is not None:
        raise IntegrityFailure(f"{cut}; nothing was restored")
    only_in_backup = _only_in_backup(source, manifest, entries, public)
    live = [s for s in stores.values() if holds_data(s)]
    _refuse_a_cut_journal(live, entries + only_in_backup)
    if live and not force:
        many = len(live) > 1
        raise BadInput(f"the {' and '.join(s.name for s in live)} store"
                       f"{'s hold' if many else ' holds'} data: restoring replaces "
                       f"{'them' if many else 'it'}, and every event after the backup is lost; "
                       "give --force to do so")
    if only_in_backup:  # journalled before anything is destroyed
        journal.append([_destroyed(e) for e in only_in_backup], private)
        entries = journal.read(public)
    files = CheckpointFiles(settings.checkpoints)
    latest = {name: files.latest(name, public) for name in stores}
    epoch = 1 + max([manifest.stores[n].checkpoint_epoch for n in stores]
                    + [c.epoch for c in latest.values() if c is not None] + [1])
    lost = {name: _lost(stores[name], latest[name], manifest.stores[name]) for name in stores}
    with Staging(settings, source, manifest) as staging:
        results, notes, heads = _stage(settings, staging.settings, entries, manifest, lost,
                                       epoch, private, at)
        staging.swap()
    for name, head in heads.items():
        _reset_head(stores[name], head, epoch, at)
    for name, note in notes.items():
        files.write(name, note)
    _copy_missing_notes(source, manifest, settings)
    return results


def _check_backup_copy(source: Path, manifest: Manifest, store: StoreSettings,
                       copy: StoreCopy, public: bytes) -> None:
    signed = _latest_note(source, manifest, copy.name, public)
    engine = copy_engine(source, copy.files)
    try:
        checked = check_copy(copy.name, engine, copy.files, Before(copy.head, signed),
                             backend=copy.backend)
    finally:
        engine.dispose()
    if (checked.events, checked.head, checked.root) != (copy.events, copy.head, copy.root):
        raise IntegrityFailure(f"the backup's copy of the {copy.name} store is not the one "
                               "its manifest describes")


def _latest_note(source: Path, manifest: Manifest, store: str,
                 public: bytes) -> Checkpoint | None:
    names = sorted(n for n in manifest.notes if Path(n).parent.name == store)
    if not names:
        return None
    return parse_note((source / names[-1]).read_text(encoding="utf-8"), public)


def _only_in_backup(source: Path, manifest: Manifest, entries: list[Entry],
                    public: bytes) -> list[Entry]:
    """The backup journal's entries for clients the live journal lacks (all of them when
    the live journal was lost)."""
    if not manifest.journal:
        return []
    known = {e.client_id for e in entries}
    return [e for e in Journal(source / JOURNAL).read(public) if e.client_id not in known]


def _refuse_a_cut_journal(live: list[StoreSettings], entries: list[Entry]) -> None:
    """A client destroyed in a live store must be journalled: a journal cut short (or
    removed) would let the restore bring that client back."""
    from ledger.stores.readonly import ReadOnlyStore  # noqa: PLC0415

    keys = {}
    for store in live:
        opened = ReadOnlyStore(store)
        try:
            keys[store.name] = opened.client_keys()
        finally:
            opened.close()
    problem = unjournalled(entries, keys)
    if problem is not None:
        raise IntegrityFailure(f"{problem}; nothing was restored")


def _destroyed(e: Entry) -> Destroyed:
    return Destroyed(client_id=UUID(e.client_id), at=e.moment, rule_id=e.rule_id,
                     citation=e.citation, anchor=e.anchor, anchor_date=e.anchor_date,
                     destroy_on=e.destroy_on, actor_id=e.actor_id, actor_role=e.actor_role)


def _lost(store: StoreSettings, signed: Checkpoint | None, copy: StoreCopy) -> int:
    """How many events past the copy the store was known to have: its known head and its
    latest signed checkpoint, both outside the database."""
    try:
        known = HeadFile(store.heads_file).read()
    except BadInput:
        known = None  # unreadable: the signed log still says how far the store went
    reached = max(known.position if known else 0, signed.size if signed else 0)
    return max(0, reached - copy.events)


def _stage(live: Settings, staged: Settings, entries: list[Entry], manifest: Manifest,
           lost: dict[str, int], epoch: int, private: bytes, at: datetime
           ) -> tuple[list[StoreRestored], dict[str, Checkpoint], dict[str, Head]]:
    """In the staging stores: re-apply the journal, record the restore, sign the epoch."""
    with opened(staged) as (main, pn):
        for store, live_store in ((main, live.main), (pn, live.pn)):
            _take_key_versions(store, live_store)
            _require_keys(store)
        reapplied = _reapply(main, pn, entries)
        pn.scrub()
        main.scrub()
        results, notes, heads = [], {}, {}
        public = signing_public_key(private)
        for store in (main, pn):
            name = store.settings.name
            copy = manifest.stores[name]
            store.save(Restore.record(
                restore_id=named_id("restore", f"{name}:{epoch}:{at.isoformat()}"),
                store=name, restored_to=copy.events, lost=lost[name],
                reapplied=reapplied[name], backup_taken_at=manifest.taken_at, epoch=epoch,
                at=at))
            log = store.event_log
            report = verify_store(store.engine, log.events, log.chain, store=name, roots=True)
            if report.damage is not None or report.head is None or report.root is None:
                raise IntegrityFailure(f"the restored {name} store does not verify; nothing "
                                       "was replaced")
            note = parse_note(make_note(
                origin_for(live.checkpoint_origin, public, name), report.events, report.root,
                at, private, report.head.chain, epoch=epoch,
                restored=Restored(copy.events, lost[name], at), journal=head_of(entries)),
                public)
            store.checkpoints.record(note)
            notes[name], heads[name] = note, report.head
            results.append(StoreRestored(name, copy.events, lost[name], reapplied[name],
                                         report.events, epoch))
        return results, notes, heads


def _take_key_versions(staged: ClinicalStore, live: StoreSettings) -> None:
    """The staged copy learns the live store's key-encryption key versions: those made
    since the backup (the next rotation must not reuse their numbers) and those retired
    since (a retired version's key no longer exists). The live store's versions table is
    read as it is; a store that is gone (a restore onto a lost data directory) has none."""
    if not holds_data(live):
        return
    ring = staged.keyring
    engine = read_only_engine(live.url)
    try:
        known = Epochs(engine, ring.epochs.table.name.removesuffix("_kek_versions"),
                       live.schema).all()
    except DBAPIError:
        known = []  # no versions table: nothing to learn
    finally:
        engine.dispose()
    have = {e.version for e in ring.epochs.all()}
    for epoch in known:
        if epoch.version not in have and epoch.created_at is not None:
            ring.epochs.add(epoch.version, epoch.provider, epoch.created_at)
            if epoch.rotated_at is not None:
                ring.epochs.mark(epoch.version, "rotated_at", epoch.rotated_at)
        if epoch.retired_at is not None:
            ring.epochs.mark(epoch.version, "retired_at", epoch.retired_at)


def _require_keys(store: ClinicalStore) -> None:
    """Every key-encryption key version that wraps a live data key of the copy must still
    exist: a backup taken under a version since retired can no longer be opened (that is
    what retiring it is for), and is refused whole rather than restored unreadable."""
    for version, count in sorted(store.keyring.live_keys().items()):
        try:
            store.keyring.kek(version)
        except (KeyMaterialError, NotInitialised) as e:
            raise KeyMaterialError(
                f"the backup's {store.settings.name} store has {count} data key(s) under "
                f"key-encryption key version {version}, which can no longer be opened ({e}); "
                "a backup from a retired epoch cannot be restored (README \"Key-encryption "
                "keys\"); nothing was restored") from None


def _reapply(main: MainStore, pn: PsychotherapyStore, entries: list[Entry]) -> dict[str, int]:
    """Destroy again every journalled client the copy still holds a key for: the receipt
    in each store (as the purge wrote it), then the keys (the sealed store's first)."""
    counts = {"main": 0, "psychotherapy": 0}
    for entry in entries:
        client = UUID(entry.client_id)
        actor = Actor(entry.actor_id, entry.actor_role)
        for store in (main, pn):
            if store.receipt_for(client) is None or not store.is_shredded(client):
                _destroy(store, client, entry, actor)
                counts[store.settings.name] += 1
    return counts


def _destroy(store: ClinicalStore, client: UUID, entry: Entry, actor: Actor) -> None:
    store.write_receipt(client, rule_id=entry.rule_id, citation=entry.citation,
                        anchor=entry.anchor, anchor_date=date.fromisoformat(entry.anchor_date),
                        destroy_on=date.fromisoformat(entry.destroy_on), actor=actor,
                        at=entry.moment)
    store.destroy_key(client, entry.moment)


def _reset_head(store: StoreSettings, head: Head, epoch: int, at: datetime) -> None:
    """The known head starts again at the restored store's head (heads only move forward
    otherwise); the line names the epoch."""
    import json  # noqa: PLC0415

    private_files.make_dir(store.heads_file.parent)
    line = json.dumps({"position": head.position, "chain": head.chain.hex(),
                       "recorded_at": at.isoformat(), "epoch": epoch})
    private_files.replace(store.heads_file, line.encode("utf-8") + b"\n")


def _copy_missing_notes(source: Path, manifest: Manifest, settings: Settings) -> None:
    """The backup's signed notes the live checkpoint directory lacks (if it was lost)."""
    for name in manifest.notes:
        target = settings.checkpoints / Path(name).relative_to("checkpoints")
        if not target.exists():
            private_files.make_dir(target.parent)
            private_files.replace(target, (source / name).read_bytes())
