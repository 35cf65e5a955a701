"""Backup and restore: the backup verifies and holds no key; a restore never brings a
destroyed client back (no key bytes for them anywhere in the data directory), records
what was lost, starts a new signed checkpoint epoch that verify reports and passes, while
a silent rollback still fails; a restore refuses to replace live data without --force."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from ledger.bootstrap import open_ledger
from ledger.errors import BadInput, ContentDestroyed
from ledger.integrity.checkpoint import CheckpointFiles
from ledger.keys.signing import key_paths, load_public_key
from ledger.services.backup import take_backup
from ledger.services.integrity import verify_read_only
from ledger.services.restore import restore
from ledger.settings import Settings
from tests.integration.test_at_rest import scan
from tests.integration.test_purge import DUE, client_ids, practice, sweep, wrapped_keys

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
                       r"restoring replaces it, .* give --force"):
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
