"""The purge journals each destroyed client outside the database before destroying its
keys, and verification compares the journal with both stores: an older copy put back
(even with its heads) is named, and so is a journal an insider edited or removed."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from ledger.bootstrap import open_ledger
from ledger.errors import IntegrityFailure
from ledger.integrity.journal import Journal
from ledger.keys.signing import key_paths, load_public_key
from ledger.services.integrity import verify_read_only
from ledger.settings import Settings
from ledger.stores.psychotherapy import PsychotherapyStore
from tests.integration.test_purge import DUE, client_ids, practice, sqlite_settings, sweep

__all__ = ["sqlite_settings"]


def journal_report(settings: Settings):  # type: ignore[no-untyped-def]
    reports = verify_read_only(settings, at=DUE)
    return next(r for r in reports if r.store == "journal")


def snapshot(settings: Settings, to: Path) -> None:
    to.mkdir()
    for name in ("main.sqlite", "psychotherapy.sqlite"):
        with sqlite3.connect(settings.data_dir / name) as src, \
                sqlite3.connect(to / name) as dst:
            src.backup(dst)
    shutil.copytree(settings.data_dir / "heads", to / "heads")


def put_back(settings: Settings, copy: Path) -> None:
    """What an insider with shell access does: the old database files and heads back."""
    for name in ("main.sqlite", "psychotherapy.sqlite"):
        for side in ("-wal", "-shm", "-journal"):
            (settings.data_dir / f"{name}{side}").unlink(missing_ok=True)
        shutil.copyfile(copy / name, settings.data_dir / name)
    shutil.rmtree(settings.data_dir / "heads")
    shutil.copytree(copy / "heads", settings.data_dir / "heads")


def test_the_purge_journals_each_client_and_verify_agrees(sqlite_settings: Settings) -> None:
    s = sqlite_settings
    practice(s, clients=2)
    assert journal_report(s).ok and journal_report(s).events == 0
    sweep(s, DUE, by="comp")
    ids = client_ids(s, 2)
    entries = Journal(s.journal).read(load_public_key(key_paths(s.keys)[1]))
    assert sorted(e.client_id for e in entries) == sorted(str(i) for i in ids)
    assert {(e.rule_id, e.anchor_date, e.actor_id) for e in entries} == {
        ("CA-psychologist", "2010-06-01", "comp")}
    report = journal_report(s)
    assert report.ok and report.events == 2
    sweep(s, DUE, by="comp")  # a rerun journals nothing twice
    assert journal_report(s).events == 2


def test_an_older_copy_put_back_is_named(sqlite_settings: Settings, tmp_path: Path) -> None:
    s = sqlite_settings
    practice(s, clients=1)
    snapshot(s, tmp_path / "old")
    sweep(s, DUE, by="comp")
    put_back(s, tmp_path / "old")
    reports = verify_read_only(s, at=DUE)
    assert [r.ok for r in reports if r.store != "journal"] == [True, True]  # chains fine
    report = journal_report(s)
    assert report.damage is not None and report.damage.kind == "resurrected"
    client, = client_ids(s, 1)
    assert report.damage.detail.startswith(f"client {client} (journal entry 1) has a live "
                                           "data key in the main store again")


def test_a_removed_journal_is_named_and_the_next_run_rebuilds_it(
        sqlite_settings: Settings) -> None:
    """No journal file but destroyed clients, and no checkpoint since: a notice (an
    installation purged before the journal existed looks the same; restore refuses on
    it); with one entry left, the missing one is damage. The next run journals them."""
    s = sqlite_settings
    practice(s, clients=2)
    sweep(s, DUE, by="comp")
    lines = s.journal.read_bytes().splitlines(keepends=True)
    s.journal.write_bytes(lines[0])
    report = journal_report(s)
    assert report.damage is not None and report.damage.kind == "unjournalled"
    assert "is not in the destruction journal" in report.damage.detail
    s.journal.unlink()
    report = journal_report(s)
    assert report.ok and report.notice is not None
    assert report.notice.startswith("no destruction journal yet, but destroyed clients exist")
    sweep(s, DUE, by="comp")
    report = journal_report(s)
    assert report.ok and report.events == 2 and report.notice is None


def test_an_edited_journal_is_named_and_stops_the_purge(sqlite_settings: Settings) -> None:
    s = sqlite_settings
    practice(s, clients=2)
    sweep(s, DUE, by="comp")
    lines = s.journal.read_bytes().splitlines(keepends=True)
    s.journal.write_bytes(lines[1] + lines[0])  # reordered
    report = journal_report(s)
    assert report.damage is not None and report.damage.kind == "journal"
    assert "line 1: sequence 2 where 1 belongs" in report.damage.detail
    with pytest.raises(IntegrityFailure, match="sequence 2 where 1 belongs"):
        sweep(s, DUE, by="comp")


def test_dropping_the_last_entry_is_caught_by_the_signed_checkpoint(
        sqlite_settings: Settings) -> None:
    """The last entry leaves no gap in the chain, but each checkpoint signs the journal's
    length and last hash: once one was signed after the purge, the cut is named."""
    s = sqlite_settings
    practice(s, clients=2)
    sweep(s, DUE, by="comp")
    with open_ledger(s) as lg:
        lg.integrity.checkpoint(at=DUE)
    lines = s.journal.read_bytes().splitlines(keepends=True)
    s.journal.write_bytes(lines[0])
    report = journal_report(s)
    assert report.damage is not None and report.damage.kind == "journal"
    assert report.damage.detail.startswith("the destruction journal has 1 entries but the "
                                           "latest main checkpoint of size ")
    assert report.damage.detail.endswith("records 2: entries were removed")
    with pytest.raises(IntegrityFailure, match=r"line 1|entries were removed"), \
            open_ledger(s) as lg:
        s.journal.write_bytes(lines[1] + lines[0])  # and a journal that does not verify
        lg.integrity.checkpoint(at=DUE)  # is never signed over


class Crash(Exception):
    pass


def test_a_crash_between_journal_and_keys_is_reported_then_finished(
        sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The purge journals the client, then dies before destroying its keys: the journal
    already names the client (so no restore can bring it back), verify says the purge was
    interrupted, and the next run destroys the keys; verify is clean again."""
    s = sqlite_settings
    practice(s, clients=1)

    def crash(self: object, client_id: object, at: object) -> bool:
        raise Crash

    with monkeypatch.context() as patched:
        patched.setattr(PsychotherapyStore, "destroy_key", crash)
        with pytest.raises(Crash):
            sweep(s, DUE, by="comp")
    client, = client_ids(s, 1)
    assert Journal(s.journal).journalled(load_public_key(key_paths(s.keys)[1])) == {client}
    report = journal_report(s)
    assert report.damage is not None and report.damage.kind == "resurrected"
    assert "a purge was interrupted: 'ledger retention run' finishes it" in report.damage.detail
    assert [d.status for d in sweep(s, DUE, by="comp")] == ["destroyed"]
    assert journal_report(s).ok and journal_report(s).events == 1
