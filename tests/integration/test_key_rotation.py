"""Key-encryption key versions: rotation resumes after a fault at any batch with reads
working throughout, retirement refuses while anything needs the version, a copy of the
database from a retired epoch opens for nobody, and the receipt says until when a backup
can hold a destroyed client (SQLite and PostgreSQL)."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import select

from ledger.aggregates.key_epoch import KekRetirement, KekRotation
from ledger.bootstrap import Ledger, open_ledger
from ledger.errors import BadInput, KeyMaterialError, LedgerError, NotFound
from ledger.keys.kek import load_kek
from ledger.primitives.crypto import CryptoError, unwrap_key
from ledger.settings import Settings
from tests.conftest import AT, all_events, open_memory_ledger, seed
from tests.integration.test_purge import DUE, practice, sweep


class Fault(Exception):
    """Injected between two committed batches (a crash)."""


def notes_for(lg: Ledger, clients: int) -> dict[str, UUID]:
    """A progress note for each of ``clients`` clients (each one data key)."""
    from datetime import date

    made = {}
    for i in range(clients):
        ref = f"R-{i}"
        lg.clients.register(ref, f"Name {i}", date(1980, 1, 1), "CA", by="desk", at=AT)
        made[ref] = lg.notes.write(ref, f"text {i}", by="dr-lee", session_date=None, at=AT)
    return made


def read_all(lg: Ledger, notes: dict[str, UUID]) -> None:
    for ref, note in notes.items():
        text = lg.notes.read(note, by="dr-lee", purpose="TREAT", version=None, at=AT).text
        assert text == f"text {ref[2:]}"


def versions_in_use(lg: Ledger) -> dict[int, int]:
    return lg.main.keyring.live_keys()


def test_rotation_rewraps_every_live_key_and_is_recorded_once(settings: Settings) -> None:
    with open_ledger(settings) as lg:
        seed(lg)
        notes = notes_for(lg, 5)
        live = sum(versions_in_use(lg).values())
        r = lg.keys.rotate("main", at=AT, batch=2)
        assert (r.version, r.resumed, r.rewrapped, r.live_keys) == (2, False, live, live)
        assert versions_in_use(lg) == {2: live}
        read_all(lg, notes)
        status = lg.keys.status("main")
        assert [(e.version, e.current, e.live_keys) for e in status] == [
            (1, False, 0), (2, True, live)]
        events = [e for e in all_events(lg) if isinstance(e, KekRotation.Completed)]
        assert [(e.store, e.version, e.live_keys, e.actor_id) for e in events] == [
            ("main", 2, live, "key-holder")]
        assert lg.main.verify(use_known_head=False).ok
    with open_ledger(settings) as lg:  # a new process reads under version 2
        read_all(lg, notes)
        assert lg.keys.status("pn")[0].current  # the sealed store was not rotated


def test_rotation_interrupted_between_batches_resumes(settings: Settings) -> None:
    with open_ledger(settings) as lg:
        seed(lg)
        notes = notes_for(lg, 6)
        live = sum(versions_in_use(lg).values())

        def crash_after_two(done: int) -> None:
            read_all(lg, notes)  # reads work in the middle of a rotation
            if done >= 4:
                raise Fault

        with pytest.raises(Fault):
            lg.keys.rotate("main", at=AT, batch=2, after_batch=crash_after_two)
        assert versions_in_use(lg) == {1: live - 4, 2: 4}
        with pytest.raises(BadInput, match="the rotation to version 2 has not finished"):
            lg.keys.retire("main", 1, at=AT)
        assert not [e for e in all_events(lg) if isinstance(e, KekRotation.Completed)]
    with open_ledger(settings) as lg:  # the rerun, as after a crash
        read_all(lg, notes)
        r = lg.keys.rotate("main", at=AT + timedelta(hours=1), batch=2)
        assert (r.version, r.resumed, r.rewrapped) == (2, True, live - 4)
        assert versions_in_use(lg) == {2: live}
        read_all(lg, notes)
        assert len([e for e in all_events(lg) if isinstance(e, KekRotation.Completed)]) == 1
        # A third run starts a new rotation, version 3.
        assert lg.keys.rotate("main", at=AT + timedelta(hours=2)).version == 3


@hsettings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(keys=st.integers(1, 12), batch=st.integers(1, 5), crash_at=st.integers(1, 12))
def test_rotation_resumes_after_a_fault_at_any_batch(keys: int, batch: int,
                                                     crash_at: int) -> None:
    lg = open_memory_ledger()
    try:
        ring = lg.main.keyring
        subjects = [f"subject:{UUID(int=i)}" for i in range(keys)]
        deks = {s: ring.sealer(ring.ensure_key(s, AT)) for s in subjects}
        probe = {s: d.seal(b"x", b"aad") for s, d in deks.items()}

        def crash(done: int) -> None:
            if done >= crash_at:
                raise Fault

        try:
            lg.keys.rotate("main", at=AT, batch=batch, after_batch=crash)
        except Fault:
            lg.keys.rotate("main", at=AT, batch=batch)
        assert set(ring.live_keys()) == {2}
        ring._sealers.clear()  # unwrap again, from the rows
        for s in subjects:
            assert ring.sealer(ring.ensure_key(s, AT)).open(probe[s], b"aad") == b"x"
    finally:
        lg.close()


def test_retire_refuses_the_current_version_live_keys_and_unknown_ones(
        settings: Settings) -> None:
    with open_ledger(settings) as lg:
        seed(lg)
        notes = notes_for(lg, 2)
        with pytest.raises(BadInput, match=r"^version 1 is the current key-encryption key"):
            lg.keys.retire("main", 1, at=AT)
        with pytest.raises(NotFound, match="version 7 does not exist"):
            lg.keys.retire("main", 7, at=AT)
        lg.keys.rotate("main", at=AT)
        # An insider puts a row back under version 1: retirement counts it and refuses.
        t = lg.main.keyring.table
        with lg.main.engine.begin() as conn:
            key_id = conn.execute(select(t.c.key_id).where(
                t.c.subject == "audit")).scalar()
            conn.execute(t.update().where(t.c.key_id == key_id).values(kek_version=1))
        with pytest.raises(BadInput, match=r"version 1 still wraps 1 live data key\(s\)"):
            lg.keys.retire("main", 1, at=AT)
        lg.main.keyring._sealers.clear()
        with pytest.raises(KeyMaterialError, match="does not match this store"):
            lg.main.keyring.sealer(UUID(hex=key_id))  # and the relabelled row is unreadable
        with lg.main.engine.begin() as conn:
            conn.execute(t.update().where(t.c.key_id == key_id).values(kek_version=2))
        lg.main.keyring._sealers.clear()
        read_all(lg, notes)
        assert lg.keys.retire("main", 1, at=AT) is True
        assert lg.keys.retire("main", 1, at=AT) is False  # idempotent
        with pytest.raises(KeyMaterialError, match="version 1 was retired on 2026-01-15"):
            lg.main.keyring.kek(1)
        retired = [e for e in all_events(lg) if isinstance(e, KekRetirement.Recorded)]
        assert [(e.store, e.version) for e in retired] == [("main", 1)]
    if settings.main.url.startswith("sqlite"):
        assert not settings.main.kek_file.exists()


def _snapshot_wrapped(lg: Ledger) -> dict[str, tuple[UUID, bytes]]:
    t = lg.main.keyring.table
    with lg.main.engine.connect() as conn:
        rows = conn.execute(select(t.c.subject, t.c.key_id, t.c.wrapped)).all()
    return {s: (UUID(hex=k), bytes(w)) for s, k, w in rows if w is not None}


def test_a_copy_from_a_retired_epoch_cannot_decrypt_any_client(settings: Settings,
                                                                tmp_path: Path) -> None:
    """The backup taken under epoch 1 holds every key wrapped under version 1 only; once
    version 1 is retired, nobody holding the copy and every key still kept opens any of
    them, including the clients that are still live."""
    with open_ledger(settings) as lg:
        seed(lg)
        notes = notes_for(lg, 3)
        backup = _snapshot_wrapped(lg)  # what a backup of the keys table holds
        copy = tmp_path / "copy"
        if settings.main.url.startswith("sqlite"):
            copy.mkdir()
            shutil.copy(settings.data_dir / "main.sqlite", copy / "main.sqlite")
        lg.keys.rotate("main", at=AT)
        lg.keys.retire("main", 1, at=AT)
        read_all(lg, notes)  # the live store reads on, under version 2
    remaining = [load_kek(settings.main, 2)]
    assert not settings.main.kek_file.exists()
    for _subject, (key_id, wrapped) in backup.items():
        for kek in remaining:
            with pytest.raises(CryptoError):
                unwrap_key(kek, wrapped, key_id.bytes)
    if not copy.exists():
        return
    # The copy, opened with today's keys: refused before anything is read.
    restored = replace(settings, main=replace(settings.main,
                                              url=f"sqlite:///{copy / 'main.sqlite'}"))
    with pytest.raises(LedgerError, match="no key-encryption key for the main store at"):
        open_ledger(restored)


def test_receipt_and_explain_say_until_when_a_backup_holds_the_client(
        settings: Settings) -> None:
    practice(settings, clients=1)
    sweep(settings, DUE, by="comp")
    with open_ledger(settings) as lg:
        s = lg.retention.schedule(lg.client_id("P-0"), DUE)
        assert s.status == "destroyed"
        assert s.backups == (
            "copies main store: in backups until epoch 1 is retired, at the latest when "
            "epoch 1 is retired (no rotation has followed yet); psychotherapy store: in "
            "backups until epoch 1 is retired, at the latest when epoch 1 is retired (no "
            "rotation has followed yet)")
        assert lg.keys.needs_rotation("main") and lg.keys.needs_rotation("pn")
        later = DUE + timedelta(days=1)
        lg.keys.rotate("main", at=later)
        lg.keys.rotate("pn", at=later)
        assert not lg.keys.needs_rotation("main")
        s = lg.retention.schedule(lg.client_id("P-0"), later)
        assert s.why.endswith(
            "; copies main store: in backups until epoch 1 is retired, at the latest "
            "2020-02-06; psychotherapy store: in backups until epoch 1 is retired, at the "
            "latest 2020-02-06")
        assert lg.keys.due_for_retirement("main", later + timedelta(days=35)) == []
        assert lg.keys.due_for_retirement("main", later + timedelta(days=35, seconds=1)) == [1]
        lg.keys.retire("main", 1, at=later + timedelta(days=36))
        s = lg.retention.schedule(lg.client_id("P-0"), later)
        assert s.backups is not None
        assert s.backups.startswith("copies main store: no copy can be opened: epoch 1 was "
                                    "retired on 2020-02-07")


def test_a_store_made_before_versions_is_version_1(settings: Settings) -> None:
    with open_ledger(settings) as lg:
        seed(lg)
        t = lg.main.keyring.table
        name = f'"{t.schema}"."{t.name}"' if t.schema else f'"{t.name}"'
        epochs = lg.main.keyring.epochs.table
        ename = f'"{epochs.schema}"."{epochs.name}"' if epochs.schema else f'"{epochs.name}"'
        with lg.main.engine.begin() as conn:  # as an older ledger left it
            conn.exec_driver_sql(f"ALTER TABLE {name} DROP COLUMN kek_version")
            conn.exec_driver_sql(f"DROP TABLE {ename}")
    with open_ledger(settings) as lg:
        assert set(lg.main.keyring.live_keys()) == {1}
        (epoch,) = lg.keys.status("main")
        assert (epoch.version, epoch.provider, epoch.current) == (1, "file", True)
        assert epoch.created_at is not None
        lg.keys.rotate("main", at=AT)
        assert len(lg.staff.list_staff()) == 7  # every event read under version 2


def test_a_purge_during_a_rotation_stays_destroyed(settings: Settings) -> None:
    """A key destroyed between two batches is skipped, not re-wrapped back to life."""
    with open_ledger(settings) as lg:
        ring = lg.main.keyring
        t = ring.table.c
        for i in range(9):
            ring.ensure_key(f"subject:{UUID(int=i)}", AT)
        purged: list[str] = []

        def purge_one_not_yet_rewrapped(done: int) -> None:
            if done == 3:
                with lg.main.engine.connect() as conn:
                    purged.append(conn.execute(select(t.subject).where(
                        t.kek_version == 1, t.subject != "audit")).scalars().first())
                ring.destroy(purged[0], AT)

        lg.keys.rotate("main", at=AT, batch=3, after_batch=purge_one_not_yet_rewrapped)
        assert ring.is_destroyed(purged[0])
        assert ring.destroyed_under(purged[0]) == 1  # its last epoch: a backup's
        assert set(ring.live_keys()) == {2}


def test_the_receipt_keeps_the_key_version_an_insider_cannot_lower(settings: Settings) -> None:
    """The receipt records, in the chain, the version the client's key was wrapped under
    when it was destroyed. An insider who sets the keys table's column of the destroyed
    key to an older, retired version (so that the ledger would say no backup copy can be
    opened) does not change the answer; the table can only make it later."""
    practice(settings, clients=1)
    with open_ledger(settings) as lg:
        lg.keys.rotate("main", at=DUE - timedelta(days=2))
        lg.keys.retire("main", 1, at=DUE - timedelta(days=1))
    sweep(settings, DUE, by="comp")
    with open_ledger(settings) as lg:
        client = lg.client_id("P-0")
        receipt = lg.main.receipt_for(client)
        assert receipt is not None and receipt.kek_version == 2
        pn_receipt = lg.pn.receipt_for(client)
        assert pn_receipt is not None and pn_receipt.kek_version == 1
        honest = lg.retention.schedule(client, DUE).backups
        assert honest is not None and honest.startswith(
            "copies main store: in backups until epoch 2 is retired, at the latest when epoch "
            "2 is retired (no rotation has followed yet)")
        t = lg.main.keyring.table
        with lg.main.engine.begin() as conn:
            conn.execute(t.update().where(t.c.subject == f"subject:{client}")
                         .values(kek_version=1))
        assert lg.main.keyring.destroyed_under(f"subject:{client}") == 1  # the edit took
        assert lg.retention.schedule(client, DUE).backups == honest
