"""Deliberately broken stores, on SQLite and PostgreSQL: the verifier names the first damage.

Each test builds a store through the real application, tampers with it through raw SQL
(as someone with database access would) and checks the reported kind, position and
message.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from cli.main import ledger
from ledger.bootstrap import Ledger, open_ledger
from ledger.errors import Refused
from ledger.integrity.heads import HeadFile
from ledger.integrity.verify import Damage, KnownHead, Report, verify_store
from ledger.primitives.chain import GENESIS, chain_hash, leaf_hash
from ledger.settings import Settings
from ledger.stores.main import MainStore
from tests.conftest import AT, seed

MID = 12  # a position in the middle of the store built below

EDITED = "stored event does not match its chain leaf"
REMOVED = "event was removed from the store"
APPENDED = "event has no chain record (appended outside the ledger)"
INSERTED = "event has no chain record (inserted)"
CHAIN_BAD = "chain value does not follow from the previous one"
RECOMPUTED = "the chain was recomputed: it no longer passes through the known head"


@dataclass
class Store:
    """A store written through the application, and raw SQL access to its tables."""

    settings: Settings
    lg: Ledger
    n: int = 0

    @property
    def app(self) -> MainStore:
        return self.lg.main

    @property
    def engine(self) -> sa.Engine:
        return self.app.engine

    @property
    def postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def table(self, name: str) -> str:
        schema = self.settings.main.schema
        return f'"{schema}".{name}' if self.postgres and schema else name

    def sql(self, statement: str, **params: Any) -> None:
        """Run one statement; ``{events}`` and ``{chain}`` name the store's tables."""
        with self.engine.begin() as conn:
            conn.execute(sa.text(statement.format(events=self.table("ledger_events"),
                                                  chain=self.table("ledger_chain"))), params)

    def query(self, statement: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.text(statement.format(
                events=self.table("ledger_events"), chain=self.table("ledger_chain"))), params))

    def event(self, nid: int) -> Any:
        (row,) = self.query("SELECT id, originator_id, originator_version, topic, state "
                            "FROM {events} WHERE id = :i", i=nid)
        return row

    def link(self, position: int) -> Any:
        (row,) = self.query("SELECT position, notification_id, leaf, chain FROM {chain} "
                            "WHERE position = :p", p=position)
        return row

    def uuid_param(self, value: UUID) -> Any:
        """An originator id as the raw driver stores it (native uuid, or 16 bytes on SQLite)."""
        return value if self.postgres else value.bytes

    def verify(self, known_head: KnownHead | None = None) -> Report:
        rec = self.app.event_log
        return verify_store(self.engine, rec.events, rec.chain,
                            store="main", known_head=known_head)

    def head(self) -> KnownHead:
        head = self.verify().head
        assert head is not None
        return head


def uuid_bytes(value: Any) -> bytes:
    return value.bytes if isinstance(value, UUID) else bytes(value)


def flip(data: bytes, index: int = 20) -> bytes:
    out = bytearray(data)
    out[index] ^= 0x01
    return bytes(out)


def expect_damage(report: Report, kind: str, position: int, message: str) -> Damage:
    """The report names ``kind`` at ``position`` and describes it exactly as ``message``."""
    damage = report.damage
    assert damage is not None, f"expected {kind} at {position}, store verified clean"
    assert (damage.kind, damage.position) == (kind, position), damage.describe()
    assert re.fullmatch(re.escape(message), damage.describe()), damage.describe()
    assert not report.ok
    return damage


def verify_all(settings: Settings, at: datetime) -> list[Report]:
    """Both stores verified as the CLI and the scheduler verify them (then the journal)."""
    with open_ledger(settings) as lg:
        return lg.integrity.verify(at=at)


@pytest.fixture
def store(settings: Settings, lg: Ledger) -> Store:
    """About 25 events: staff, a client, notes written, amended, read, one refused read."""
    seed(lg)
    first = lg.notes.write("C-1", "first session", by="dr-lee", session_date=date(2026, 1, 14),
                           at=AT)
    lg.notes.amend(first, "first session, corrected", "typo", by="dr-lee", at=AT)
    second = lg.notes.write("C-1", "second session", by="dr-kim", session_date=None, at=AT)
    lg.notes.read(first, by="dr-kim", purpose="TREAT", version=1, at=AT)
    lg.notes.read(second, by="sup", purpose="TRAIN", version=None, at=AT)
    with pytest.raises(Refused, match="role billing may not read notes for purpose TREAT"):
        lg.notes.read(second, by="bill", purpose="TREAT", version=None, at=AT)
    lg.notes.list_notes("C-1", by="dr-lee", at=AT)
    s = Store(settings, lg)
    s.n = len(s.query("SELECT id FROM {events}"))
    # A fresh store has no id gaps: position p holds notification id p.
    links = s.query("SELECT position, notification_id FROM {chain} ORDER BY position")
    assert [tuple(r) for r in links] == [(p, p) for p in range(1, s.n + 1)]
    assert s.n >= MID + 8
    return s


# ----- untouched --------------------------------------------------------------------------


def test_untouched_store_verifies(store: Store) -> None:
    report = store.verify()
    assert report.ok and report.damage is None
    assert report.events == store.n
    assert report.head == KnownHead(store.n, bytes(store.link(store.n)[3]))
    assert store.verify(report.head).ok


# ----- edited event rows -------------------------------------------------------------------


@pytest.mark.parametrize("column", ["state", "topic", "originator_version", "originator_id"])
def test_edited_event_column_is_reported_at_its_position(store: Store, column: str) -> None:
    row = store.event(MID)
    new: Any = {
        "state": flip(bytes(row[4])),
        "topic": row[3] + "X",
        "originator_version": row[2] + 1000,
        "originator_id": store.uuid_param(uuid4()),
    }[column]
    store.sql(f"UPDATE {{events}} SET {column} = :v WHERE id = :i", v=new, i=MID)
    expect_damage(store.verify(), "edited", MID,
                  f"position {MID} (notification id {MID}): edited: {EDITED}")


def test_edited_chain_leaf_is_reported_as_edited(store: Store) -> None:
    store.sql("UPDATE {chain} SET leaf = :l WHERE position = :p",
              l=flip(bytes(store.link(MID)[2])), p=MID)
    expect_damage(store.verify(), "edited", MID,
                  f"position {MID} (notification id {MID}): edited: {EDITED}")


def test_edited_chain_value_is_reported_as_chain_altered(store: Store) -> None:
    store.sql("UPDATE {chain} SET chain = :c WHERE position = :p",
              c=flip(bytes(store.link(MID)[3])), p=MID)
    expect_damage(store.verify(), "chain-altered", MID,
                  f"position {MID} (notification id {MID}): chain-altered: {CHAIN_BAD}")


# ----- removed and renumbered event rows ---------------------------------------------------


def test_renumbered_event_is_missing_at_its_position(store: Store) -> None:
    store.sql("UPDATE {events} SET id = :new WHERE id = :i", new=store.n + 100, i=MID)
    expect_damage(store.verify(), "missing", MID,
                  f"position {MID} (notification id {MID}): missing: {REMOVED}")


def test_deleted_event_is_missing_at_its_position(store: Store) -> None:
    store.sql("DELETE FROM {events} WHERE id = :i", i=MID)
    report = store.verify()
    expect_damage(report, "missing", MID,
                  f"position {MID} (notification id {MID}): missing: {REMOVED}")
    assert report.events == MID - 1


def test_deleted_event_and_chain_row_is_a_chain_jump(store: Store) -> None:
    store.sql("DELETE FROM {events} WHERE id = :i", i=MID)
    store.sql("DELETE FROM {chain} WHERE position = :p", p=MID)
    expect_damage(store.verify(), "missing", MID,
                  f"position {MID}: missing: chain jumps from position {MID - 1} to {MID + 1}")


# ----- moved and added event rows ----------------------------------------------------------


def test_swapped_events_are_reordered_naming_the_other_position(store: Store) -> None:
    other = MID + 5
    a, b = store.event(MID), store.event(other)
    update = ("UPDATE {events} SET originator_id = :o, originator_version = :v, topic = :t, "
              "state = :s WHERE id = :i")
    # (originator_id, originator_version) is unique: park one row on a free version first.
    store.sql("UPDATE {events} SET originator_version = :v WHERE id = :i", v=10**6, i=other)
    store.sql(update, o=b[1], v=b[2], t=b[3], s=b[4], i=MID)
    store.sql(update, o=a[1], v=a[2], t=a[3], s=a[4], i=other)
    expect_damage(store.verify(), "reordered", MID,
                  f"position {MID} (notification id {MID}): reordered: event stored here "
                  f"belongs at position {other} (notification id {other})")


def test_swapped_chain_records_are_reordered(store: Store) -> None:
    other = MID + 3
    # notification_id is unique: park one chain row on a free id first.
    store.sql("UPDATE {chain} SET notification_id = :n WHERE position = :p", n=10**6, p=MID)
    store.sql("UPDATE {chain} SET notification_id = :n WHERE position = :p", n=MID, p=other)
    store.sql("UPDATE {chain} SET notification_id = :n WHERE position = :p", n=other, p=MID)
    expect_damage(store.verify(), "reordered", MID,
                  f"position {MID} (notification id {MID}): reordered: the event's chain "
                  f"record is at position {other}, out of order")


def copy_event(store: Store, source: int, new_id: int) -> None:
    """Insert a copy of event ``source`` under ``new_id`` on a fresh originator version."""
    store.sql("INSERT INTO {events} (id, originator_id, originator_version, topic, state) "
              "SELECT :n, originator_id, originator_version + 1000, topic, state "
              "FROM {events} WHERE id = :s", n=new_id, s=source)


def test_appended_event_without_chain_row_is_inserted(store: Store) -> None:
    copy_event(store, MID, store.n + 1)
    report = store.verify()
    expect_damage(report, "inserted", store.n + 1,
                  f"position {store.n + 1} (notification id {store.n + 1}): inserted: "
                  f"{APPENDED}")
    assert report.events == store.n


def make_id_gap(store: Store) -> int:
    """Leave notification id n+1 unused with the next event at n+2 (as a rolled-back
    transaction does on PostgreSQL). Returns the unused id."""
    gap = store.n + 1
    copy_event(store, 1, gap)  # a placeholder takes the id...
    if store.postgres:
        (seq,) = store.query("SELECT pg_get_serial_sequence(:t, 'id')",
                             t=store.table("ledger_events"))
        store.sql("SELECT setval(CAST(:s AS regclass), :v)", s=seq[0], v=gap)
    store.lg.notes.read(note_id(store), by="dr-lee", purpose="TREAT", version=None, at=AT)
    store.sql("DELETE FROM {events} WHERE id = :i", i=gap)  # ...and is removed again
    store.n += 1
    assert tuple(store.link(store.n))[:2] == (store.n, gap + 1)
    return gap


def note_id(store: Store) -> UUID:
    topic = "ledger.aggregates.progress_note:ProgressNote.Written"
    (row,) = store.query("SELECT originator_id FROM {events} WHERE topic = :t ORDER BY id "
                         "LIMIT 1", t=topic)
    return row[0] if isinstance(row[0], UUID) else UUID(bytes=bytes(row[0]))


def test_id_gaps_are_not_damage(store: Store) -> None:
    make_id_gap(store)
    report = store.verify()
    assert report.ok
    assert report.events == store.n


def test_event_inserted_into_an_id_gap_is_inserted(store: Store) -> None:
    gap = make_id_gap(store)
    copy_event(store, MID, gap)
    expect_damage(store.verify(), "inserted", store.n,
                  f"position {store.n} (notification id {gap}): inserted: {INSERTED}")


# ----- truncation needs a known head --------------------------------------------------------


def truncate(store: Store, count: int) -> None:
    keep = store.n - count
    store.sql("DELETE FROM {events} WHERE id > :k", k=keep)
    store.sql("DELETE FROM {chain} WHERE position > :k", k=keep)


def test_truncated_tail_is_invisible_without_a_known_head(store: Store) -> None:
    truncate(store, 3)
    # A hash chain only commits to what precedes each link: a shorter chain is still valid.
    report = store.verify()
    assert report.ok
    assert report.events == store.n - 3
    assert report.head == KnownHead(store.n - 3, bytes(store.link(store.n - 3)[3]))


def test_truncated_tail_is_reported_against_an_explicit_known_head(store: Store) -> None:
    head = store.head()
    truncate(store, 3)
    report = store.verify(head)
    expect_damage(report, "truncated", store.n - 2,
                  f"position {store.n - 2}: truncated: store ends at position {store.n - 3} "
                  f"but a known head records position {store.n}")
    assert report.events == store.n - 3


def test_truncated_tail_is_reported_against_the_head_recorded_by_verify_all(
        store: Store) -> None:
    head = store.head()
    clean, pn_clean, _ = verify_all(store.settings, AT)
    assert clean.ok and pn_clean.ok
    assert (clean.store, pn_clean.store) == ("main", "psychotherapy")
    assert HeadFile(store.settings.main.heads_file).read() == head
    truncate(store, 3)
    report, pn_report, _ = verify_all(store.settings, AT)
    assert pn_report.ok  # the sealed store's report is its own
    expect_damage(report, "truncated", store.n - 2,
                  f"position {store.n - 2}: truncated: store ends at position {store.n - 3} "
                  f"but a known head records position {store.n}")
    # A damaged store never moves the recorded head.
    assert HeadFile(store.settings.main.heads_file).read() == head
    assert store.app.verify(use_known_head=False).ok


def test_truncated_then_regrown_store_no_longer_reaches_the_known_head(store: Store) -> None:
    head = store.head()
    truncate(store, 3)
    for _ in range(4):
        store.lg.notes.read(note_id(store), by="dr-lee", purpose="TREAT", version=None, at=AT)
    assert store.verify().ok
    expect_damage(store.verify(head), "chain-altered", store.n,
                  f"position {store.n}: chain-altered: {RECOMPUTED}")


def test_every_commit_records_the_head_without_the_cli(store: Store) -> None:
    """Written through the Python API only: the head file already holds the store's head."""
    assert HeadFile(store.settings.main.heads_file).read() == store.head()
    with open_ledger(store.settings) as other:  # another writer, then this one again
        other.notes.read(note_id(store), by="dr-lee", purpose="TREAT", at=AT)
    store.lg.notes.read(note_id(store), by="dr-lee", purpose="TREAT", at=AT)
    assert HeadFile(store.settings.main.heads_file).read() == store.head()


def test_a_commit_stands_when_its_head_cannot_be_recorded(
        settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    """After a commit, success stays success: a head file that cannot be written is logged,
    the write returns, and the note reads back."""
    blocker = settings.data_dir / "not-a-directory"
    blocker.write_text("x")
    unwritable = replace(settings, main=replace(settings.main,
                                                heads_file=blocker / "main.json"))
    with open_ledger(unwritable) as lg:
        seed(lg)
        note = lg.notes.write("C-1", "kept", by="dr-lee", session_date=None, at=AT)
        assert lg.notes.read(note, by="dr-lee", purpose="TREAT", at=AT).text == "kept"
    assert re.search(r"main: committed up to position \d+, but its head was not "
                     rf"recorded in {re.escape(str(blocker / 'main.json'))} \(File exists\)",
                     caplog.text)
    assert "kept" not in caplog.text


def test_a_commit_stands_when_the_check_before_recording_its_head_fails(
        store: Store, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """The known head is not the one this commit extends (here an older one, as after a
    lost line), so the head is recorded only after reading the chain at the known one;
    that read fails. The read of the note still succeeds, and the log names the kind of
    error only (a driver's message quotes its statement)."""
    older = store.link(5)
    with store.settings.main.heads_file.open("a") as f:
        f.write(json.dumps({"position": 5, "chain": bytes(older[3]).hex(),
                            "recorded_at": AT.isoformat()}) + "\n")
    known = HeadFile(store.settings.main.heads_file).read()
    assert known is not None and known.position == 5

    def broken(position: int) -> bytes:
        raise sa.exc.OperationalError("SELECT chain FROM ledger_chain", {"p": position},
                                      Exception("server closed the connection"))

    monkeypatch.setattr(store.lg.main.event_log, "chain_at", broken)
    content = store.lg.notes.read(note_id(store), by="dr-lee", purpose="TREAT", at=AT)
    assert content.version >= 1
    assert HeadFile(store.settings.main.heads_file).read() == known  # not moved
    assert re.search(r"main: committed up to position \d+, but its head was not recorded "
                     r"in .*main\.json \(OperationalError\)", caplog.text)
    assert "SELECT" not in caplog.text
    monkeypatch.undo()
    assert store.app.verify().ok


def test_writes_after_a_truncation_never_move_the_known_head(
        store: Store, caplog: pytest.LogCaptureFixture) -> None:
    """An insider truncates the tail; later ordinary writes, even past the old length, must
    not make the shortened chain the known one (the commits stand; the head stays)."""
    head = store.head()
    truncate(store, 3)
    store.lg.notes.read(note_id(store), by="dr-lee", purpose="TREAT", at=AT)
    assert HeadFile(store.settings.main.heads_file).read() == head
    expect_damage(store.app.verify(), "truncated", store.n - 1,
                  f"position {store.n - 1}: truncated: store ends at position {store.n - 2} "
                  f"but a known head records position {store.n}")
    for _ in range(3):  # now longer than the known head, on another chain
        store.lg.notes.read(note_id(store), by="dr-lee", purpose="TREAT", at=AT)
    assert HeadFile(store.settings.main.heads_file).read() == head
    assert "no longer passes through its known head" in caplog.text
    expect_damage(store.app.verify(), "chain-altered", store.n,
                  f"position {store.n}: chain-altered: {RECOMPUTED}")


def test_a_write_after_a_rewrite_never_moves_the_known_head(store: Store) -> None:
    head = store.head()
    edit_and_rewrite(store)
    store.lg.notes.read(note_id(store), by="dr-lee", purpose="TREAT", at=AT)
    assert HeadFile(store.settings.main.heads_file).read() == head
    expect_damage(store.app.verify(), "chain-altered", store.n,
                  f"position {store.n}: chain-altered: {RECOMPUTED}")


# ----- a consistently recomputed chain -----------------------------------------------------


def rewrite_chain_from(store: Store, start: int) -> None:
    """What a DBA with the source code could do: recompute leaves and chain from ``start``."""
    previous = GENESIS if start == 1 else bytes(store.link(start - 1)[3])
    for position in range(start, store.n + 1):
        nid, originator, version, topic, state = store.event(position)
        leaf = leaf_hash(nid, uuid_bytes(originator), version, topic, bytes(state))
        previous = chain_hash(position, previous, leaf)
        store.sql("UPDATE {chain} SET leaf = :l, chain = :c WHERE position = :p",
                  l=leaf, c=previous, p=position)


def edit_and_rewrite(store: Store) -> None:
    store.sql("UPDATE {events} SET state = :s WHERE id = :i",
              s=flip(bytes(store.event(MID)[4])), i=MID)
    rewrite_chain_from(store, MID)


def test_recomputed_chain_is_invisible_without_a_known_head(store: Store) -> None:
    edit_and_rewrite(store)
    report = store.verify()
    assert report.ok
    assert report.events == store.n


def test_recomputed_chain_is_reported_against_the_known_head(store: Store) -> None:
    store.app.heads.record(store.app.head(), AT)
    edit_and_rewrite(store)
    report = store.app.verify()
    # The verifier cannot locate the edit any more: it names the known head's position.
    expect_damage(report, "chain-altered", store.n,
                  f"position {store.n}: chain-altered: {RECOMPUTED}")
    assert report.events == store.n


def test_verifying_without_the_known_head_never_moves_it_onto_a_rewritten_chain(
        store: Store) -> None:
    """The insider rewrites the chain, lets writes run past the old length, then runs
    `ledger verify --no-known-head` (or gives an earlier head): clean, but the recorded
    head stays where it was, and the next ordinary verification still reports it."""
    head = store.app.head()
    assert HeadFile(store.settings.main.heads_file).read() == head
    edit_and_rewrite(store)
    for _ in range(3):
        store.lg.notes.read(note_id(store), by="dr-lee", purpose="TREAT", at=AT)
    assert store.app.verify(use_known_head=False, at=AT).ok
    earlier = KnownHead(MID - 1, bytes(store.link(MID - 1)[3]))
    assert store.app.verify(known_head=earlier, at=AT).ok
    assert HeadFile(store.settings.main.heads_file).read() == head
    assert head is not None
    expect_damage(store.app.verify(at=AT), "chain-altered", head.position,
                  f"position {head.position}: chain-altered: {RECOMPUTED}")


def test_a_known_head_protects_only_the_positions_up_to_it(store: Store) -> None:
    earlier = KnownHead(MID - 1, bytes(store.link(MID - 1)[3]))
    at_edit = KnownHead(MID, bytes(store.link(MID)[3]))
    edit_and_rewrite(store)
    assert store.verify(earlier).ok
    expect_damage(store.verify(at_edit), "chain-altered", MID,
                  f"position {MID}: chain-altered: {RECOMPUTED}")


# ----- the command line ----------------------------------------------------------------------


def cli_env(settings: Settings) -> dict[str, str | None]:
    main = settings.main
    postgres = not main.url.startswith("sqlite")
    return {"LEDGER_URL": main.url if postgres else None,
            "LEDGER_SCHEMA": main.schema if postgres else None,
            "LEDGER_DATA_DIR": None, "LEDGER_CONFIG": None, "LEDGER_KEK": None,
            "LEDGER_KEK_FILE": None}


@pytest.fixture
def run_verify(store: Store) -> Iterator[Any]:
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(ledger, ["--data-dir", str(store.settings.data_dir), "verify",
                                      *args], env=cli_env(store.settings))

    yield run


def test_cli_verify_exits_0_then_3_naming_the_position(store: Store, run_verify: Any) -> None:
    result = run_verify()
    assert result.exit_code == 0, result.output
    assert re.fullmatch(rf"main: intact, {store.n} events, head {store.n}:[0-9a-f]{{64}}\n"
                        r"psychotherapy: intact, 0 events, empty\n"
                        r"journal: intact, 0 destroyed clients\n", result.output)
    store.sql("UPDATE {events} SET topic = topic || 'X' WHERE id = :i", i=MID)
    result = run_verify()
    assert result.exit_code == 3, result.output
    assert result.output == (
        f"main: DAMAGED at position {MID} (notification id {MID}): edited: {EDITED}\n"
        "psychotherapy: intact, 0 events, empty\n"
        "journal: intact, 0 destroyed clients\n")


def test_cli_verify_detects_truncation_against_its_recorded_head(store: Store,
                                                                 run_verify: Any) -> None:
    assert run_verify().exit_code == 0  # records the head
    truncate(store, 3)
    result = run_verify("--json")
    assert result.exit_code == 3, result.output
    assert f'"kind": "truncated", "notification_id": null, "position": {store.n - 2}' in (
        result.output)
    result = run_verify("--no-known-head")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"main: intact, {store.n - 3} events, head ")


# ----- verification while the application writes ----------------------------------------------


def test_verification_reads_one_snapshot_while_a_writer_commits(store: Store) -> None:
    """A write committed between the verifier's page queries must not look like damage.

    The verifier reads events and chain rows in separate paged SELECTs. It must read them
    from one snapshot; otherwise an event committed after the (last, empty) events page
    but before the last chain page looks like a chain row whose event was removed.
    The writer runs in a thread so that a verifier which blocks writers also passes.
    """
    verifier = open_ledger(store.settings).main
    chain_queries = 0
    errors: list[BaseException] = []

    def write() -> None:
        try:
            store.lg.notes.read(note_id(store), by="dr-lee", purpose="TREAT", version=None,
                                at=AT)
        except BaseException as e:  # reported below
            errors.append(e)

    writer = threading.Thread(target=write)

    def write_between_pages(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        nonlocal chain_queries
        if statement.lstrip().upper().startswith("SELECT") and "ledger_chain" in statement:
            chain_queries += 1
            if chain_queries == 2:  # the events pages are exhausted; the chain's are not yet
                writer.start()
                writer.join(timeout=2)  # committed now, unless the verifier blocks writers

    sa.event.listen(verifier.engine, "before_cursor_execute", write_between_pages)
    try:
        rec = verifier.event_log
        report = verify_store(verifier.engine, rec.events, rec.chain,
                              store="main")
    finally:
        sa.event.remove(verifier.engine, "before_cursor_execute", write_between_pages)
        verifier.close()
    writer.join()
    assert not errors, errors
    assert chain_queries >= 2
    assert report.damage is None, report.damage.describe()
    assert report.events in (store.n, store.n + 1)
    assert store.verify().events == store.n + 1  # the write itself was chained correctly
