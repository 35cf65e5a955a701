"""Property tests of the hash chain (ledger/chain.py) and of the verifier built on it.

The chain functions are checked against a deliberately naive re-implementation of the
definition in the module docstring; then a real SQLite store, written through the
application, is copied for every example, tampered with raw SQL and verified.
"""

from __future__ import annotations

import hashlib
import shutil
import struct
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ledger.bootstrap import initialise, open_ledger
from ledger.errors import Refused
from ledger.integrity import verify as verify_module
from ledger.integrity.verify import KnownHead, verify_store
from ledger.primitives import chain
from tests.conftest import AT, make_settings, seed

U64_MAX = 2**64 - 1

# ----- known answers: the stored format of every existing store --------------------------
# Computed once by the code that wrote the first stores; they never change, whatever moves.
KNOWN_LEAF = "ae9f62d265e2b09abcb018fcc31b46b817229802c3b5ff224b358debc5f3b07c"
KNOWN_CHAIN = "915d4cff5e71f4df11574c3ce312b3ca192d9f10878771e85aa756ab387b4381"


def test_leaf_and_chain_match_the_known_answers() -> None:
    leaf = chain.leaf_hash(1, bytes(range(16)), 1, "ledger.aggregates.audit:AuditEntry.Recorded",
                           b"state")
    assert leaf.hex() == KNOWN_LEAF
    assert chain.chain_hash(1, chain.GENESIS, leaf).hex() == KNOWN_CHAIN
    assert ref_leaf(1, bytes(range(16)), 1, "ledger.aggregates.audit:AuditEntry.Recorded",
                    b"state").hex() == KNOWN_LEAF


# ----- the reference ----------------------------------------------------------------------


def ref_leaf(nid: int, originator: bytes, version: int, topic: str, state: bytes) -> bytes:
    """sha256(0x00 || u64 id || u64 version || uuid || u32 len(topic) || topic || sha256(state))."""
    encoded = topic.encode("utf-8")
    data = bytearray(b"\x00")
    data += nid.to_bytes(8, "big")
    data += version.to_bytes(8, "big")
    data += originator
    data += len(encoded).to_bytes(4, "big")
    data += encoded
    data += hashlib.sha256(state).digest()
    return hashlib.sha256(bytes(data)).digest()


def ref_chain(leaves: list[bytes]) -> list[bytes]:
    """chain[p] = sha256("ledger.chain.v1\\0" || u64 p || chain[p-1] || leaf[p]); 0^32 first."""
    values: list[bytes] = []
    previous = b"\x00" * 32
    for position, leaf in enumerate(leaves, start=1):
        previous = hashlib.sha256(
            b"ledger.chain.v1\x00" + position.to_bytes(8, "big") + previous + leaf
        ).digest()
        values.append(previous)
    return values


@dataclass(frozen=True)
class Ev:
    nid: int
    originator: bytes
    version: int
    topic: str
    state: bytes

    def args(self) -> tuple[int, bytes, int, str, bytes]:
        return (self.nid, self.originator, self.version, self.topic, self.state)


def product_chain(events: list[Ev]) -> list[bytes]:
    """The chain values the product computes, position 1 first."""
    values: list[bytes] = []
    previous = chain.GENESIS
    for position, ev in enumerate(events, start=1):
        previous = chain.chain_hash(position, previous, chain.leaf_hash(*ev.args()))
        values.append(previous)
    return values


u64 = st.integers(min_value=0, max_value=U64_MAX)
uuid16 = st.binary(min_size=16, max_size=16)
hash32 = st.binary(min_size=32, max_size=32)
topics = st.text(max_size=40)  # the default alphabet has no surrogates: always UTF-8 encodable
states = st.binary(max_size=64)
events = st.builds(Ev, u64, uuid16, u64, topics, states)
event_lists = st.lists(events, min_size=1, max_size=12, unique=True)


# ----- the pure functions against the reference ----------------------------------------------


@given(events)
def test_leaf_hash_matches_reference(ev: Ev) -> None:
    assert chain.leaf_hash(*ev.args()) == ref_leaf(*ev.args())


@given(events)
def test_leaf_data_is_decodable_so_distinct_events_never_share_leaf_data(ev: Ev) -> None:
    data = chain.leaf_data(*ev.args())
    nid, version = struct.unpack_from(">QQ", data, 0)
    originator = data[16:32]
    (topic_len,) = struct.unpack_from(">I", data, 32)
    topic = data[36:36 + topic_len].decode("utf-8")
    digest = data[36 + topic_len:]
    assert (nid, originator, version, topic, digest) == (
        ev.nid, ev.originator, ev.version, ev.topic, hashlib.sha256(ev.state).digest())


@given(event_lists)
def test_chain_matches_reference(evs: list[Ev]) -> None:
    assert product_chain(evs) == ref_chain([ref_leaf(*e.args()) for e in evs])


@given(position=st.integers(min_value=1, max_value=U64_MAX), previous=hash32, leaf=hash32)
def test_chain_hash_matches_reference_at_any_position(position: int, previous: bytes,
                                                      leaf: bytes) -> None:
    expected = hashlib.sha256(
        b"ledger.chain.v1\x00" + position.to_bytes(8, "big") + previous + leaf).digest()
    assert chain.chain_hash(position, previous, leaf) == expected


@given(ev=events, length=st.integers(min_value=0, max_value=40).filter(lambda n: n != 16))
def test_originator_id_must_be_16_bytes(ev: Ev, length: int) -> None:
    with pytest.raises(ValueError, match="originator id must be 16 bytes"):
        chain.leaf_hash(ev.nid, b"\x01" * length, ev.version, ev.topic, ev.state)


@given(ev=events, field=st.sampled_from(["nid", "version"]),
       value=st.one_of(st.integers(max_value=-1), st.integers(min_value=2**64)))
def test_out_of_range_numbers_are_refused_not_wrapped(ev: Ev, field: str, value: int) -> None:
    with pytest.raises(struct.error, match=r"argument out of range|int too large to convert"):
        changed = replace(ev, nid=value) if field == "nid" else replace(ev, version=value)
        chain.leaf_hash(*changed.args())


@given(event_lists, event_lists)
def test_appending_never_changes_earlier_chain_values(head: list[Ev], tail: list[Ev]) -> None:
    # Which is exactly why a chain alone cannot see tail truncation (see KnownHead).
    assert product_chain(head + tail)[:len(head)] == product_chain(head)


# ----- any change shows at the first affected position and not before -----------------------


def assert_diverges_at(old: list[bytes], new: list[bytes], index: int) -> None:
    """Equal before ``index`` (0-based), different at every common position from it on."""
    assert new[:index] == old[:index]
    for p in range(index, min(len(old), len(new))):
        assert new[p] != old[p], f"chain unchanged at position {p + 1}"


@st.composite
def mutated(draw: st.DrawFn, ev: Ev) -> Ev:
    field = draw(st.sampled_from(["state", "topic", "version", "nid", "originator"]))
    if field == "state":
        if not ev.state:
            return replace(ev, state=draw(st.binary(min_size=1, max_size=4)))
        index = draw(st.integers(0, len(ev.state) - 1))
        mask = draw(st.integers(1, 255))
        state = bytearray(ev.state)
        state[index] ^= mask
        return replace(ev, state=bytes(state))
    if field == "topic":
        return replace(ev, topic=draw(topics.filter(lambda t: t != ev.topic)))
    if field == "version":
        return replace(ev, version=draw(u64.filter(lambda v: v != ev.version)))
    if field == "nid":
        return replace(ev, nid=draw(u64.filter(lambda v: v != ev.nid)))
    return replace(ev, originator=draw(uuid16.filter(lambda o: o != ev.originator)))


@given(st.data())
def test_single_field_mutation_changes_chain_from_its_position(data: st.DataObject) -> None:
    evs = data.draw(event_lists)
    i = data.draw(st.integers(0, len(evs) - 1), label="index")
    changed = data.draw(mutated(evs[i]), label="mutated")
    new = [*evs[:i], changed, *evs[i + 1:]]
    assert_diverges_at(product_chain(evs), product_chain(new), i)


@given(st.data())
def test_insertion_changes_chain_from_its_position(data: st.DataObject) -> None:
    evs = data.draw(event_lists)
    i = data.draw(st.integers(0, len(evs)), label="index")
    extra = data.draw(events.filter(lambda e: e not in evs), label="inserted")
    new = [*evs[:i], extra, *evs[i:]]
    old_chain, new_chain = product_chain(evs), product_chain(new)
    assert len(new_chain) == len(old_chain) + 1
    assert_diverges_at(old_chain, new_chain, i)


@given(st.data())
def test_deletion_changes_chain_from_its_position(data: st.DataObject) -> None:
    evs = data.draw(event_lists)
    i = data.draw(st.integers(0, len(evs) - 1), label="index")
    new = evs[:i] + evs[i + 1:]
    old_chain, new_chain = product_chain(evs), product_chain(new)
    assert len(new_chain) == len(old_chain) - 1
    assert_diverges_at(old_chain, new_chain, i)


@given(st.data())
def test_swap_changes_chain_from_the_first_swapped_position(data: st.DataObject) -> None:
    evs = data.draw(st.lists(events, min_size=2, max_size=12, unique=True))
    i = data.draw(st.integers(0, len(evs) - 2), label="first")
    j = data.draw(st.integers(i + 1, len(evs) - 1), label="second")
    new = list(evs)
    new[i], new[j] = new[j], new[i]
    assert_diverges_at(product_chain(evs), product_chain(new), i)


# ----- the verifier on a real store, tampered at random -------------------------------------


@dataclass(frozen=True)
class BaseStore:
    path: Path
    events: sa.Table
    chain: sa.Table
    rows: list[Any]  # id, originator_id (16 bytes), originator_version, topic, state
    head: KnownHead

    @property
    def n(self) -> int:
        return len(self.rows)


@pytest.fixture(scope="module")
def base_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BaseStore]:
    """A SQLite store written through the real application (about 30 events)."""
    gen = make_settings(tmp_path_factory.mktemp("chain-properties"), "sqlite")
    s = next(gen)
    initialise(s, AT)
    lg = open_ledger(s)
    app = lg.main
    try:
        seed(lg)
        for i in range(3):
            note = lg.notes.write("C-1", f"session {i}", by="dr-lee", session_date=None, at=AT)
            lg.notes.amend(note, f"session {i}, corrected", "typo", by="dr-lee", at=AT)
            lg.notes.read(note, by="dr-kim", purpose="TREAT", version=1, at=AT)
        with pytest.raises(Refused, match="role billing may not read notes for purpose TREAT"):
            lg.notes.read(note, by="bill", purpose="TREAT", version=None, at=AT)
        rec = app.event_log
        events_table, chain_table = rec.events, rec.chain
        report = verify_store(app.engine, events_table, chain_table, store="main")
        with app.engine.connect() as conn:
            rows = list(conn.exec_driver_sql(
                "SELECT id, originator_id, originator_version, topic, state "
                "FROM ledger_events ORDER BY id").all())
    finally:
        lg.close()
    assert report.ok and report.head is not None
    assert report.events == len(rows) >= 25
    assert [r[0] for r in rows] == list(range(1, len(rows) + 1))
    yield BaseStore(Path(s.main.url.removeprefix("sqlite:///")), events_table, chain_table,
                    rows, report.head)
    next(gen, None)


def test_recorded_chain_equals_reference_over_stored_rows(base_store: BaseStore) -> None:
    engine = sa.create_engine(f"sqlite:///{base_store.path}")
    try:
        with engine.connect() as conn:
            links = conn.exec_driver_sql(
                "SELECT position, notification_id, leaf, chain FROM ledger_chain "
                "ORDER BY position").all()
    finally:
        engine.dispose()
    leaves = [ref_leaf(r[0], bytes(r[1]), r[2], r[3], bytes(r[4])) for r in base_store.rows]
    assert [tuple(link) for link in links] == [
        (p, p, leaf, value)
        for p, (leaf, value) in enumerate(zip(leaves, ref_chain(leaves), strict=True), start=1)]
    assert base_store.head == KnownHead(base_store.n, ref_chain(leaves)[-1])


Sql = Callable[[sa.Connection], None]


@dataclass(frozen=True)
class Tamper:
    name: str
    apply: Sql
    kind: str
    position: int
    detail: str  # exact Damage.detail
    events: int  # Report.events expected (positions verified before the damage)


def _run(sql: str, **params: Any) -> Sql:
    def apply(conn: sa.Connection) -> None:
        conn.execute(sa.text(sql), params)
    return apply


def _seq(*steps: Sql) -> Sql:
    def apply(conn: sa.Connection) -> None:
        for step in steps:
            step(conn)
    return apply


def _flip(data: bytes, index: int, mask: int) -> bytes:
    out = bytearray(data)
    out[index % len(out)] ^= mask
    return bytes(out)


EDITED = "stored event does not match its chain leaf"
REMOVED = "event was removed from the store"
APPENDED = "event has no chain record (appended outside the ledger)"
CHAIN_BAD = "chain value does not follow from the previous one"
RECOMPUTED = "the chain was recomputed: it no longer passes through the known head"


def _jump(p: int) -> str:
    return f"chain jumps from position {p - 1} to {p + 1}"


def _truncated(n: int, kept: int) -> str:
    return f"store ends at position {kept} but a known head records position {n}"


@st.composite
def tampers(draw: st.DrawFn, store: BaseStore) -> Tamper:
    n = store.n
    op = draw(st.sampled_from([
        "state", "topic", "version", "originator", "renumber", "delete-event", "delete-both",
        "delete-chain-row", "swap", "append", "chain-value", "leaf", "truncate", "recompute"]))
    p = draw(st.integers(1, n), label="position")
    nid, originator, version, topic, state = store.rows[p - 1]
    mask = draw(st.integers(1, 255), label="mask")
    index = draw(st.integers(0, 1000), label="byte")
    edited = (EDITED, p - 1)
    if op == "state":
        return Tamper(op, _run("UPDATE ledger_events SET state = :s WHERE id = :i",
                               s=_flip(state, index, mask), i=nid), "edited", p, *edited)
    if op == "topic":
        suffix = draw(st.text(min_size=1, max_size=8), label="suffix")
        return Tamper(op, _run("UPDATE ledger_events SET topic = :t WHERE id = :i",
                               t=topic + suffix, i=nid), "edited", p, *edited)
    if op == "version":
        new = draw(st.integers(1000, 2**62), label="version")  # stored versions are < 1000
        return Tamper(op, _run("UPDATE ledger_events SET originator_version = :v WHERE id = :i",
                               v=new, i=nid), "edited", p, *edited)
    if op == "originator":
        other = draw(uuid16.filter(lambda o: o != bytes(originator)), label="originator")
        return Tamper(op, _run("UPDATE ledger_events SET originator_id = :o WHERE id = :i",
                               o=other, i=nid), "edited", p, *edited)
    if op == "renumber":
        new = n + draw(st.integers(1, 10**6), label="offset")
        return Tamper(op, _run("UPDATE ledger_events SET id = :new WHERE id = :i", new=new, i=nid),
                      "missing", p, REMOVED, p - 1)
    if op == "delete-event":
        return Tamper(op, _run("DELETE FROM ledger_events WHERE id = :i", i=nid),
                      "missing", p, REMOVED, p - 1)
    if op == "delete-both":
        apply = _seq(_run("DELETE FROM ledger_events WHERE id = :i", i=nid),
                     _run("DELETE FROM ledger_chain WHERE position = :p", p=p))
        if p == n:  # the chain alone cannot tell: only the known head can
            return Tamper(op, apply, "truncated", n, _truncated(n, n - 1), n - 1)
        return Tamper(op, apply, "missing", p, _jump(p), p - 1)
    if op == "delete-chain-row":
        apply = _run("DELETE FROM ledger_chain WHERE position = :p", p=p)
        if p == n:  # indistinguishable from an event appended outside the ledger
            return Tamper(op, apply, "inserted", n, APPENDED, n - 1)
        return Tamper(op, apply, "missing", p, _jump(p), p - 1)
    if op == "swap":
        p = draw(st.integers(1, n - 1), label="first")
        q = draw(st.integers(p + 1, n), label="second")
        a, b = store.rows[p - 1], store.rows[q - 1]
        sql = ("UPDATE ledger_events SET originator_id = :o, originator_version = :v, "
               "topic = :t, state = :s WHERE id = :i")
        apply = _seq(
            _run("UPDATE ledger_events SET originator_version = -1 WHERE id = :i", i=b[0]),
            _run(sql, o=b[1], v=b[2], t=b[3], s=b[4], i=a[0]),
            _run(sql, o=a[1], v=a[2], t=a[3], s=a[4], i=b[0]))
        return Tamper(op, apply, "reordered", p,
                      f"event stored here belongs at position {q} (notification id {q})", p - 1)
    if op == "append":
        return Tamper(op, _run("INSERT INTO ledger_events (id, originator_id, originator_version, "
                               "topic, state) VALUES (:i, :o, :v, :t, :s)", i=n + 1, o=originator,
                               v=version + 1000, t=topic, s=state),
                      "inserted", n + 1, APPENDED, n)
    if op == "chain-value":
        return Tamper(op, _run("UPDATE ledger_chain SET chain = :c WHERE position = :p", p=p,
                               c=_flip(store_link(store, p)[1], index, mask)),
                      "chain-altered", p, CHAIN_BAD, p - 1)
    if op == "leaf":
        return Tamper(op, _run("UPDATE ledger_chain SET leaf = :l WHERE position = :p", p=p,
                               l=_flip(store_link(store, p)[0], index, mask)),
                      "edited", p, *edited)
    if op == "truncate":
        k = draw(st.integers(1, n), label="removed")
        return Tamper(op, _seq(_run("DELETE FROM ledger_events WHERE id > :m", m=n - k),
                               _run("DELETE FROM ledger_chain WHERE position > :m", m=n - k)),
                      "truncated", n - k + 1, _truncated(n, n - k), n - k)
    assert op == "recompute"
    # A DBA edits one state and rewrites every later chain row consistently.
    rows = list(store.rows)
    rows[p - 1] = (nid, originator, version, topic, _flip(state, index, mask))
    leaves = [ref_leaf(r[0], bytes(r[1]), r[2], r[3], bytes(r[4])) for r in rows]
    steps = [_run("UPDATE ledger_events SET state = :s WHERE id = :i", s=rows[p - 1][4], i=nid)]
    steps += [_run("UPDATE ledger_chain SET leaf = :l, chain = :c WHERE position = :p",
                   l=leaf, c=value, p=pos)
              for pos, (leaf, value) in enumerate(zip(leaves, ref_chain(leaves), strict=True),
                                                  start=1) if pos >= p]
    return Tamper(op, _seq(*steps), "chain-altered", n, RECOMPUTED, n)


def store_link(store: BaseStore, position: int) -> tuple[bytes, bytes]:
    """(leaf, chain) of the untouched store at ``position``."""
    leaves = [ref_leaf(r[0], bytes(r[1]), r[2], r[3], bytes(r[4])) for r in store.rows]
    return leaves[position - 1], ref_chain(leaves)[position - 1]


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), page=st.sampled_from([1, 2, 3, 7, verify_module.PAGE]))
def test_verifier_names_first_damage_of_any_single_tamper(base_store: BaseStore,
                                                          data: st.DataObject, page: int) -> None:
    tamper = data.draw(tampers(base_store), label="tamper")
    event(tamper.name)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "main.sqlite"
        shutil.copyfile(base_store.path, copy)
        engine = sa.create_engine(f"sqlite:///{copy}")
        try:
            with engine.begin() as conn:
                tamper.apply(conn)
            with mock.patch.object(verify_module, "PAGE", page):
                report = verify_store(engine, base_store.events, base_store.chain, store="main",
                                      known_head=base_store.head)
                blind = verify_store(engine, base_store.events, base_store.chain, store="main")
        finally:
            engine.dispose()
    damage = report.damage
    assert damage is not None, tamper.name
    assert (damage.kind, damage.position, damage.detail) == (
        tamper.kind, tamper.position, tamper.detail)
    assert report.events == tamper.events
    # Without the known head only truncation and a consistent rewrite go unnoticed.
    if tamper.kind == "truncated" or tamper.name == "recompute":
        assert blind.ok and blind.damage is None
    else:
        assert blind.damage == damage
