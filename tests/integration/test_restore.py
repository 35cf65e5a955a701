"""Backup and restore: the backup verifies and holds no key; a restore never brings a
destroyed client back (no key bytes for them anywhere in the data directory), records
what was lost, starts a new signed checkpoint epoch that verify reports and passes, while
a silent rollback still fails; a restore refuses to replace live data without --force."""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from ledger.bootstrap import open_ledger
from ledger.errors import BadInput, ContentDestroyed, IntegrityFailure, KeyMaterialError
from ledger.integrity.checkpoint import CheckpointFiles
from ledger.keys.signing import key_paths, load_public_key
from ledger.services.backup import take_backup
from ledger.services.integrity import verify_read_only
from ledger.services.restore import restore
from ledger.settings import Settings
from tests.integration.test_at_rest import scan
from tests.integration.test_purge import (
    DUE,
    client_ids,
    practice,
    sqlite_settings,
    sweep,
    wrapped_keys,
)

__all__ = ["sqlite_settings"]

LATER = DUE + timedelta(days=1)


def checkpoint(settings: Settings, at: datetime) -> None:
    with open_ledger(settings) as lg:
        lg.integrity.checkpoint(at=at)


def write_note(settings: Settings, ref: str, at: datetime) -> None:
    with open_ledger(settings) as lg:
        lg.notes.write(ref, "a later note", by="dr-lee", session_date=None, at=at)


def reports(settings: Settings) -> dict[str, object]:
    return {r.store: r for r in verify_read_only(settings, at=LATER)}


def test_restore_never_brings_a_destroyed_client_back(settings: Settings,
                                                      tmp_path: Path) -> None:
    s = settings
    made = practice(s, clients=1)  # P-0, purged after the backup; P-9 is kept
    with open_ledger(s) as lg:
        lg.clients.register("P-9", "Kept Client", date(1990, 1, 1), "CA", by="desk",
                            at=DUE - timedelta(days=1))
    checkpoint(s, DUE - timedelta(hours=2))
    keys = wrapped_keys(s)
    client, = client_ids(s, 1)
    client_keys = {k: v for k, v in keys.items() if str(client) in k}
    assert len(client_keys) == 2

    taken = take_backup(s, tmp_path / "backup", at=DUE - timedelta(hours=1))
    backend = "postgresql" if s.main.url.startswith("postgresql") else "sqlite"
    assert {c.backend for c in taken.stores.values()} == {backend}
    assert not any(p.name.endswith((".kek", ".key")) for p in (tmp_path / "backup").rglob("*"))
    done = sweep(s, DUE, by="comp")
    assert [d.status for d in done] == ["destroyed"]
    write_note(s, "P-9", DUE)
    checkpoint(s, DUE + timedelta(hours=1))
    before = {name: r.events for name, r in reports(s).items()}  # type: ignore[attr-defined]

    with pytest.raises(BadInput, match=r"^the main and psychotherapy stores hold data: "
                       r"restoring replaces them, .* give --force"):
        restore(s, tmp_path / "backup", at=LATER)
    results = {r.store: r for r in restore(s, tmp_path / "backup", at=LATER, force=True)}

    main = results["main"]
    assert main.restored_to == taken.stores["main"].events
    assert main.lost == before["main"] - taken.stores["main"].events > 0
    assert main.reapplied == 1 and results["psychotherapy"].reapplied == 1
    assert main.epoch == 2
    with open_ledger(s) as lg:
        assert lg.main.is_shredded(client) and lg.pn.is_shredded(client)
        note, _ = made["P-0"]
        with pytest.raises(ContentDestroyed):
            lg.notes.read(note, by="dr-lee", purpose="TREAT", version=None, at=LATER)  # type: ignore[arg-type]
        assert lg.retention.schedule(client, LATER).status == "destroyed"
        kept = lg.notes.list_notes("P-9", by="dr-lee", at=LATER)
        assert len(kept) == 0  # the note written after the backup is among the lost events
    if s.main.url.startswith("sqlite"):
        assert scan(s.data_dir, client_keys) == {}  # database, WAL and journal files too

    verified = reports(s)
    assert all(r.ok for r in verified.values()), verified  # type: ignore[attr-defined]
    restored = verified["main"].restored  # type: ignore[attr-defined]
    assert (restored.position, restored.lost) == (main.restored_to, main.lost)
    write_note(s, "P-9", LATER)  # the restored store accepts writes and checkpoints
    checkpoint(s, LATER + timedelta(hours=1))
    assert all(r.ok for r in reports(s).values())
    public = load_public_key(key_paths(s.keys)[1])
    latest = CheckpointFiles(s.checkpoints).latest("main", public)
    assert latest is not None and latest.epoch == 2 and latest.restored is not None
    names = sorted(p.name for p in (s.checkpoints / "main").glob("*.note"))
    assert names[0].startswith("0000") and names[-1].startswith("e0002-")  # both epochs kept


# ----- an insider's attempts ---------------------------------------------------------------

def backed_up_then_purged(settings: Settings, tmp_path: Path, *,
                          checkpoint_after: bool = True) -> Path:
    """One client, a checkpoint, a backup, then the client purged and a checkpoint."""
    practice(settings, clients=1)
    checkpoint(settings, DUE - timedelta(hours=2))
    take_backup(settings, tmp_path / "backup", at=DUE - timedelta(hours=1))
    sweep(settings, DUE, by="comp")
    if checkpoint_after:
        checkpoint(settings, DUE + timedelta(hours=1))
    return tmp_path / "backup"


def live_state(settings: Settings) -> dict[str, int]:
    """Each store's event count (the journal left out)."""
    return {name: r.events for name, r in reports(settings).items()  # type: ignore[attr-defined]
            if name != "journal"}


def test_a_silent_rollback_still_fails(sqlite_settings: Settings, tmp_path: Path) -> None:
    """The insider copies the backup's database files and heads over the live ones, with
    no restore: the latest signed checkpoint is no longer reached, and the journal names
    the client the old files bring back."""
    s = sqlite_settings
    backup = backed_up_then_purged(s, tmp_path)
    for name in ("main.sqlite", "psychotherapy.sqlite"):
        for side in ("-wal", "-shm"):
            (s.data_dir / f"{name}{side}").unlink(missing_ok=True)
        shutil.copyfile(backup / name, s.data_dir / name)
    shutil.rmtree(s.data_dir / "heads")
    found = reports(s)
    main = found["main"]
    assert main.damage is not None and main.damage.kind == "truncated"  # type: ignore[attr-defined]
    assert "an older copy put back without 'ledger restore'" in main.damage.detail  # type: ignore[attr-defined]
    assert found["journal"].damage.kind == "resurrected"  # type: ignore[attr-defined]


def test_an_altered_or_foreign_backup_is_refused(sqlite_settings: Settings,
                                                 tmp_path: Path) -> None:
    s = sqlite_settings
    backup = backed_up_then_purged(s, tmp_path)
    before = live_state(s)
    data = bytearray((backup / "main.sqlite").read_bytes())
    data[-100] ^= 1
    (backup / "main.sqlite").write_bytes(bytes(data))
    with pytest.raises(IntegrityFailure, match=r"^the backup's file main.sqlite was altered"):
        restore(s, backup, at=LATER, force=True)
    manifest = json.loads((backup / "manifest.json").read_text())
    manifest["manifest"]["stores"]["main"]["events"] += 1
    (backup / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IntegrityFailure, match=r"manifest.json: the signature does not "
                       r"verify with this installation's checkpoint public key"):
        restore(s, backup, at=LATER, force=True)
    assert live_state(s) == before and all(r.ok for r in reports(s).values())


def test_a_cut_journal_stops_the_restore(sqlite_settings: Settings, tmp_path: Path) -> None:
    """The insider removes the destroyed client's journal entry (or the whole journal)
    and restores the older backup to bring the client back: refused, nothing replaced."""
    s = sqlite_settings
    backup = backed_up_then_purged(s, tmp_path, checkpoint_after=False)
    before = live_state(s)
    s.journal.unlink()
    with pytest.raises(IntegrityFailure, match=r"is not in the destruction journal .*; "
                       r"nothing was restored$"):
        restore(s, backup, at=LATER, force=True)
    assert live_state(s) == before


def test_a_journal_cut_after_a_checkpoint_stops_the_restore(sqlite_settings: Settings,
                                                              tmp_path: Path) -> None:
    """The insider puts the old database files back by hand (so the live store shows
    nothing destroyed), removes the journal, then restores: the signed checkpoint recorded
    the journal's length, so the cut is named and nothing is restored."""
    s = sqlite_settings
    backup = backed_up_then_purged(s, tmp_path)
    for name in ("main.sqlite", "psychotherapy.sqlite"):
        for side in ("-wal", "-shm"):
            (s.data_dir / f"{name}{side}").unlink(missing_ok=True)
        shutil.copyfile(backup / name, s.data_dir / name)
    s.journal.unlink()
    with pytest.raises(IntegrityFailure, match=r"^the destruction journal has 0 entries but "
                       r"the latest main checkpoint .* records 1: entries were removed; "
                       r"nothing was restored$"):
        restore(s, backup, at=LATER, force=True)


def test_an_edited_journal_stops_the_restore(sqlite_settings: Settings, tmp_path: Path) -> None:
    s = sqlite_settings
    backup = backed_up_then_purged(s, tmp_path)
    line = json.loads(s.journal.read_text())
    line["client_id"] = "00000000-0000-0000-0000-000000000001"  # another client's name
    s.journal.write_text(json.dumps(line) + "\n")
    with pytest.raises(IntegrityFailure, match=r"^destruction journal line 1: the signature "
                       r"does not verify"):
        restore(s, backup, at=LATER, force=True)


def test_a_lost_data_directory_is_restored_without_force(sqlite_settings: Settings,
                                                         tmp_path: Path) -> None:
    """Disaster: the databases, heads and checkpoints are gone; the keys (from the key
    backup) and the journal are there. The restore needs no --force."""
    s = sqlite_settings
    backup = backed_up_then_purged(s, tmp_path)
    client, = client_ids(s, 1)
    for path in list(s.data_dir.glob("*.sqlite*")):
        path.unlink()
    shutil.rmtree(s.data_dir / "heads")
    shutil.rmtree(s.checkpoints)
    results = {r.store: r for r in restore(s, backup, at=LATER)}
    assert results["main"].lost == 0  # nothing outside the database says more was lost
    assert all(r.ok for r in reports(s).values())
    with open_ledger(s) as lg:
        assert lg.main.is_shredded(client) and lg.pn.is_shredded(client)
    assert (s.checkpoints / "main").is_dir()  # the backup's notes, then the new epoch's


def test_a_restore_after_a_key_rotation(settings: Settings, tmp_path: Path) -> None:
    """Keys rotated to version 2 before the backup: the restore opens the copy through the
    installation's key providers, re-applies the purge, and the kept client's note still
    opens."""
    s = settings
    practice(s, clients=1)
    with open_ledger(s) as lg:
        lg.clients.register("P-9", "Kept Client", date(1990, 1, 1), "CA", by="desk",
                            at=DUE - timedelta(days=2))
        kept = lg.notes.write("P-9", "kept text", by="dr-lee", session_date=None,
                              at=DUE - timedelta(days=2))
        for store in ("main", "pn"):
            lg.keys.rotate(store, at=DUE - timedelta(days=1))
    take_backup(s, tmp_path / "backup", at=DUE - timedelta(hours=1))
    sweep(s, DUE, by="comp")
    client, = client_ids(s, 1)
    restore(s, tmp_path / "backup", at=LATER, force=True)
    assert all(r.ok for r in reports(s).values())
    with open_ledger(s) as lg:
        assert lg.main.is_shredded(client) and lg.pn.is_shredded(client)
        shown = lg.notes.read(kept, by="dr-lee", purpose="TREAT", version=None, at=LATER)
        assert shown.text == "kept text"


def rotate_and_retire(s: Settings, at: datetime) -> None:
    with open_ledger(s) as lg:
        for store in ("main", "pn"):
            lg.keys.rotate(store, at=at)
            lg.keys.retire(store, 1, at=at)


def test_a_backup_from_a_retired_key_epoch_is_refused_whole(settings: Settings,
                                                            tmp_path: Path) -> None:
    """Retiring an epoch is what makes a backup taken under it noise: its restore is refused
    before anything is replaced (not restored unreadable), and the live stores go on."""
    s = settings
    practice(s, clients=1)
    take_backup(s, tmp_path / "old", at=DUE - timedelta(hours=2))
    rotate_and_retire(s, DUE - timedelta(hours=1))
    before = {name: r.events for name, r in reports(s).items()}  # type: ignore[attr-defined]
    with pytest.raises(KeyMaterialError, match=r"^the backup's main store has \d+ data key\(s\) "
                       r"under key-encryption key version 1, which can no longer be opened "
                       r"\(key-encryption key version 1 was retired on .*\); a backup from a "
                       r"retired epoch cannot be restored .*; nothing was restored$"):
        restore(s, tmp_path / "old", at=LATER, force=True)
    assert {name: r.events for name, r in reports(s).items()} == before  # type: ignore[attr-defined]
    write_note(s, "P-0", LATER)  # still writable, under version 2


def test_a_restore_keeps_the_key_versions_made_and_retired_since(settings: Settings,
                                                                 tmp_path: Path) -> None:
    """A backup taken under version 2, restored after version 1 was retired and version 3
    made: the restored store knows both, so its keys stay under live versions, new keys go
    under the newest, and the next rotation takes a number never used (4)."""
    s = settings
    practice(s, clients=1)
    rotate_and_retire(s, DUE - timedelta(hours=3))
    take_backup(s, tmp_path / "b", at=DUE - timedelta(hours=2))
    with open_ledger(s) as lg:
        lg.keys.rotate("main", at=DUE - timedelta(hours=1))
    restore(s, tmp_path / "b", at=LATER, force=True)
    with open_ledger(s) as lg:
        epochs = {e.version: e for e in lg.main.keyring.epochs.all()}
        assert sorted(epochs) == [1, 2, 3]
        assert epochs[1].retired_at is not None and epochs[3].retired_at is None
        assert lg.main.keyring.epochs.current().version == 3
        lg.notes.write("P-0", "after the restore", by="dr-lee", session_date=None, at=LATER)
        lg.clients.register("P-7", "New Client", date(1990, 1, 1), "CA", by="desk", at=LATER)
        assert lg.main.keyring.live_keys().get(3, 0) >= 1
        lg.keys.rotate("main", at=LATER)
        assert lg.main.keyring.epochs.current().version == 4
        assert set(lg.main.keyring.live_keys()) == {4}
