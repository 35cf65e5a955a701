"""The purge: crypto-shredding with a receipt, no recoverable key bytes left in any file,
the chain still verifying, tombstones, idempotence, and a rerun after a kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.utils import get_topic
from sqlalchemy import select

from ledger import settings as settings_module
from ledger.aggregates.destruction import Destruction
from ledger.bootstrap import initialise, open_ledger
from ledger.errors import ContentDestroyed
from ledger.services.retention import Schedule
from ledger.settings import Settings
from ledger.stores.store import Store
from tests.conftest import seed
from tests.integration.test_at_rest import files_under, scan

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime.fromisoformat("2010-03-01T12:00:00+00:00")
DUE = datetime.fromisoformat("2020-01-01T12:00:00+00:00")


def sweep(settings: Settings, at: datetime, *, by: str, dry_run: bool = False) -> list[Schedule]:
    """The purge as the scheduler and the CLI run it: open the ledger, run, close."""
    with open_ledger(settings) as lg:
        return lg.retention.run(by=by, at=at, dry_run=dry_run)


def practice(settings: Settings, clients: int = 2) -> dict[str, tuple[object, object]]:
    """Clients seen in 2010 by a CA psychologist, discharged 2010-06-01 (due 2017-06-01),
    each with a progress note, a psychotherapy note and an accountable disclosure."""
    initialise(settings, T0)
    lg = open_ledger(settings)
    made = {}
    try:
        seed(lg, T0)
        for i in range(clients):
            ref = f"P-{i}"
            lg.clients.register(ref, f"Name {i}", date(1970, 1, 1), "CA", by="desk", at=T0)
            lg.clients.open_episode(ref, license="psychologist", facility=None,
                                    start=date(2010, 3, 1), by="desk", at=T0)
            note = lg.notes.write(ref, f"progress {i}", by="dr-lee", session_date=None, at=T0)
            pn_note = lg.psychotherapy.write(ref, f"process {i}", by="dr-lee", session_date=None,
                                             at=T0)
            lg.notes.disclose(ref, [note], by="comp", recipient="County Coroner",
                              recipient_type="coroner", purpose="PUBHLTH",
                              exception="CORONER_512g1",
                              assertion="written request on file", at=T0)
            lg.clients.close_episode(ref, end=date(2010, 6, 1), kind="discharge", by="desk",
                                     at=datetime.fromisoformat("2010-06-01T12:00:00+00:00"))
            made[ref] = (note, pn_note)
    finally:
        lg.close()
    return made


def wrapped_keys(settings: Settings) -> dict[str, bytes]:
    found = {}
    lg = open_ledger(settings)
    main, pn = lg.main, lg.pn
    try:
        for store in (main, pn):
            t = store.keyring.table
            with store.engine.connect() as conn:
                for subject, wrapped in conn.execute(select(t.c.subject, t.c.wrapped)):
                    if subject.startswith("subject:") and wrapped is not None:
                        found[f"{store.settings.name} {subject}"] = bytes(wrapped)
    finally:
        lg.close()
    return found


def client_ids(settings: Settings, count: int) -> list[UUID]:
    """The ids of clients P-0 ... P-(count-1), from the opened ledger (they are keyed)."""
    with open_ledger(settings) as lg:
        return [lg.client_id(f"P-{i}") for i in range(count)]


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    return settings_module.load_settings(str(tmp_path / "data"), environ={})


def test_purge_leaves_no_key_bytes_and_a_verifiable_chain(sqlite_settings: Settings) -> None:
    s = sqlite_settings
    made = practice(s, clients=1)
    keys = wrapped_keys(s)
    client_id, = client_ids(s, 1)
    assert {f"main subject:{client_id}", f"psychotherapy subject:{client_id}"} <= set(keys)
    assert set(scan(s.data_dir, keys)) == set(keys)  # positive control: found before

    assert sweep(s, datetime.fromisoformat("2017-05-31T12:00:00+00:00"), by="comp") == []
    done = sweep(s, DUE, by="comp")
    assert [(d.client_id, d.status) for d in done] == [(client_id, "destroyed")]

    names = {str(p.relative_to(s.data_dir)) for p in files_under(s.data_dir)}
    assert {"main.sqlite", "psychotherapy.sqlite"} <= names
    client_keys = {k: v for k, v in keys.items() if str(client_id) in k}
    assert scan(s.data_dir, client_keys) == {}  # database, WAL and journal included

    lg = open_ledger(s)
    main, pn = lg.main, lg.pn
    try:
        assert main.verify(use_known_head=False).ok
        assert pn.verify(use_known_head=False).ok
        note, pn_note = made["P-0"]
        with pytest.raises(ContentDestroyed, match=r"^note .* was destroyed under the "
                           r"retention schedule"):
            lg.notes.read(note, by="dr-lee", purpose="TREAT", version=None, at=DUE)  # type: ignore[arg-type]
        with pytest.raises(ContentDestroyed, match=r"^psychotherapy note .* was destroyed"):
            lg.psychotherapy.read(pn_note, by="dr-lee", purpose="TREAT", at=DUE)  # type: ignore[arg-type]
        rs = lg.records.record_set("P-0", by="comp", purpose="HOPERAT", at=DUE)
        assert rs.notes == () and rs.destroyed is not None
        assert rs.destroyed.startswith("destroyed on 2020-01-01 under rule CA-psychologist")
        # Audit metadata and the accounting outlive the purge.
        accounting = lg.audit.accounting("P-0", by="comp", at=DUE,
                                         requested_on=date(2015, 1, 1))
        assert [line.first.recipient for line in accounting.lines] == ["County Coroner"]
        assert any(r.action == "disclose" for r in lg.audit.access_log(
            by="comp", at=DUE, stores=("main",)))
        receipts = [e for store in (main, pn) for e in receipt_events(store)]
        assert [(r.rule_id, r.anchor, r.anchor_date, r.destroy_on) for r in receipts] == [
            ("CA-psychologist", "discharge", "2010-06-01", "2017-06-01")] * 2
        assert all(r.citation.startswith("Cal. Bus. & Prof. Code §2919") for r in receipts)
        # The key id is never reissued, and nothing new can be sealed for the client.
        subject = f"subject:{client_id}"
        key_id = main.keyring.key_id_for(subject)
        assert main.keyring.ensure_key(subject, DUE) == key_id
        with pytest.raises(ContentDestroyed, match=r"^content under key .* was destroyed$"):
            main.keyring.sealer(key_id)  # type: ignore[arg-type]
    finally:
        lg.close()


def test_a_rerun_repeats_nothing(sqlite_settings: Settings) -> None:
    practice(sqlite_settings, clients=2)
    assert len(sweep(sqlite_settings, DUE, by="comp")) == 2
    assert sweep(sqlite_settings, DUE, by="comp") == []
    assert receipts(sqlite_settings) == {f"{store} {i}": 1
                                         for store in ("main", "psychotherapy")
                                         for i in client_ids(sqlite_settings, 2)}


def test_a_dry_run_changes_nothing_and_a_hold_blocks(sqlite_settings: Settings) -> None:
    practice(sqlite_settings, clients=2)
    lg = open_ledger(sqlite_settings)
    try:
        lg.retention.place_hold(["P-1"], matter=None, reason="litigation", by="comp", at=T0)
    finally:
        lg.close()
    dry = sweep(sqlite_settings, DUE, by="comp", dry_run=True)
    assert [d.status for d in dry] == ["due", "held"]  # the held client listed as held
    assert dry[1].client_ref == "P-1" and dry[1].why == "legal hold: litigation"
    assert receipts(sqlite_settings) == {}
    done = sweep(sqlite_settings, DUE, by="comp")
    assert [d.client_id for d in done] == client_ids(sqlite_settings, 1)


def receipt_events(store: Store) -> list[Destruction.Recorded]:
    """The receipts (audit key, always readable; other events may be shredded)."""
    topic = get_topic(Destruction.Recorded)
    found = []
    for n in store.recorder.select_notifications(1, 100_000, topics=[topic]):
        event = store.mapper.to_domain_event(n)
        assert isinstance(event, Destruction.Recorded)
        found.append(event)
    return found


def receipts(settings: Settings) -> dict[str, int]:
    counts: dict[str, int] = {}
    lg = open_ledger(settings)
    main, pn = lg.main, lg.pn
    try:
        for store in (main, pn):
            for e in receipt_events(store):
                key = f"{store.settings.name} {e.client_id}"
                counts[key] = counts.get(key, 0) + 1
    finally:
        lg.close()
    return counts


KILLER = """
import sys
from datetime import datetime
from ledger import open_ledger, load_settings


def progress(schedule):
    print("client", flush=True)
with open_ledger(load_settings(sys.argv[1])) as lg:
    lg.retention.run(by="comp", at=datetime.fromisoformat(sys.argv[2]), progress=progress)
print("done", flush=True)
"""


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", [0, 1, 3])
def test_a_killed_purge_completes_on_rerun(sqlite_settings: Settings, kill_after: int) -> None:
    """Killed after K clients (0: before the first finished), at whatever step it was in;
    the rerun completes, destroys nothing twice and misses nothing due."""
    practice(sqlite_settings, clients=6)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    proc = subprocess.Popen([sys.executable, "-c", KILLER, str(sqlite_settings.data_dir),
                             DUE.isoformat()], stdout=subprocess.PIPE, text=True, cwd=ROOT,
                            env=env)
    assert proc.stdout is not None
    for _ in range(kill_after):
        assert proc.stdout.readline() == "client\n"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    sweep(sqlite_settings, DUE, by="comp")
    due = {str(i) for i in client_ids(sqlite_settings, 6)}
    assert receipts(sqlite_settings) == {f"{store} {i}": 1
                                         for store in ("main", "psychotherapy") for i in due}
    assert [k for k in wrapped_keys(sqlite_settings) if k.split(":")[1] in due] == []
    assert sweep(sqlite_settings, DUE, by="comp") == []


def test_an_interrupted_purge_waits_for_a_new_hold_then_completes(
        sqlite_settings: Settings) -> None:
    """Killed after the decision (main receipt) and the sealed store's key, before the
    main key; a hold placed meanwhile stops the rerun; its release lets it finish."""
    practice(sqlite_settings, clients=1)
    client_id, = client_ids(sqlite_settings, 1)
    lg = open_ledger(sqlite_settings)
    main, pn = lg.main, lg.pn
    try:
        from ledger.aggregates.base import Actor
        desk = lg.retention
        schedule = desk.schedule(client_id, DUE)
        e = schedule.explanation
        assert e is not None and e.winner is not None and e.destroy_on is not None
        actor = Actor("comp", "compliance")
        main.write_receipt(client_id, rule_id=e.winner.rule.id, citation=e.winner.rule.citation,
                           anchor=e.winner.rule.anchor, anchor_date=e.winner.anchor,
                           destroy_on=e.destroy_on, actor=actor, at=DUE)
        pn.write_receipt(client_id, rule_id=e.winner.rule.id, citation=e.winner.rule.citation,
                         anchor=e.winner.rule.anchor, anchor_date=e.winner.anchor,
                         destroy_on=e.destroy_on, actor=actor, at=DUE)
        assert pn.destroy_key(client_id, DUE)
        # The crash happened here. Meanwhile a hold arrives.
        assert desk.schedule(client_id, DUE).status == "destroying"
        hold = lg.retention.place_hold(["P-0"], matter=None, reason="subpoena", by="comp", at=DUE)
        held = desk.schedule(client_id, DUE)
        assert held.status == "held" and "a purge was interrupted" in held.why
        assert desk.run(by="comp", at=DUE) == []
        assert not main.is_shredded(client_id)
        later = datetime.fromisoformat("2020-02-01T12:00:00+00:00")
        lg.retention.release_hold(hold.hold_id, reason="withdrawn", by="comp", at=later)
        assert [s.status for s in desk.run(by="comp", at=later)] == ["destroyed"]
        assert main.is_shredded(client_id) and pn.is_shredded(client_id)
    finally:
        lg.close()
    assert receipts(sqlite_settings) == {f"main {client_id}": 1,
                                         f"psychotherapy {client_id}": 1}


def test_a_reader_blocking_the_scrub_fails_the_run_and_the_next_run_scrubs(
        sqlite_settings: Settings) -> None:
    import sqlite3

    from ledger.errors import Busy

    practice(sqlite_settings, clients=1)
    keys = {k: v for k, v in wrapped_keys(sqlite_settings).items() if "subject:" in k}
    reader = sqlite3.connect(sqlite_settings.data_dir / "main.sqlite")
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM ledger_events").fetchone()
    try:
        with pytest.raises(Busy, match=r"^another process is reading the store"):
            sweep(sqlite_settings, DUE, by="comp")
    finally:
        reader.rollback()
        reader.close()
    assert sweep(sqlite_settings, DUE, by="comp") == []  # nothing left to destroy...
    client_id, = client_ids(sqlite_settings, 1)
    client_keys = {k: v for k, v in keys.items() if str(client_id) in k}
    assert scan(sqlite_settings.data_dir, client_keys) == {}  # ...but it scrubbed


def test_two_purges_at_once_write_one_receipt_per_store(sqlite_settings: Settings) -> None:
    import threading

    practice(sqlite_settings, clients=3)
    errors: list[BaseException] = []

    def purge() -> None:
        try:
            sweep(sqlite_settings, DUE, by="comp")
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=purge) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert receipts(sqlite_settings) == {f"{store} {i}": 1
                                         for store in ("main", "psychotherapy")
                                         for i in client_ids(sqlite_settings, 3)}
