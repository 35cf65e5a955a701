"""Checkpoints and the investigator's report on SQLite and PostgreSQL: an incremental
checkpoint agrees with a full recomputation, a rewrite through SQL is refused, read
models are audited, and the origin and export directory are settings."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from ledger.bootstrap import Ledger, open_ledger
from ledger.errors import BadInput, IntegrityFailure
from ledger.integrity.attest import attest
from ledger.integrity.checkpoint import fingerprint
from ledger.keys.signing import key_paths, load_public_key
from ledger.primitives.chain import chain_hash
from ledger.settings import Settings, load_settings
from tests.conftest import AT, grow, seed


def checkpoint(lg: Ledger, minutes: int) -> None:
    lg.integrity.checkpoint(at=AT + timedelta(minutes=minutes))


def test_an_incremental_checkpoint_agrees_with_a_full_recomputation(lg: Ledger) -> None:
    seed(lg)
    grow(lg, 5)
    checkpoint(lg, 10)
    grow(lg, 7)
    checkpoint(lg, 20)
    store = lg.main
    public = load_public_key(key_paths(lg.settings.keys)[1])
    signed = lg.integrity.latest_signed(store, public)
    assert signed is not None and signed.size == store.event_log.size()
    full = attest(store.event_log, store.tree, signed, store.heads.read(), incremental=False)
    assert full.ok and full.report.root == signed.root and full.report.start == 0
    grow(lg, 3)
    quick = attest(store.event_log, store.tree, signed, store.heads.read(), incremental=True)
    assert quick.ok and quick.report.start == signed.size
    assert quick.report.root == store.tree.root(store.event_log.size())
    assert quick.describe().startswith(f"chain verified from position {signed.size + 1} to ")


def _remove(lg: Ledger, position: int) -> None:
    """An administrator deletes one event, closes the gap and recomputes the chain."""
    log = lg.main.event_log
    c, e = log.chain.c, log.events.c
    with lg.main.engine.begin() as conn:
        nid = conn.execute(sa.select(c.notification_id).where(c.position == position)).scalar()
        conn.execute(log.events.delete().where(e.id == nid))
        conn.execute(log.chain.delete().where(c.position == position))
        later = conn.execute(sa.select(c.position).where(c.position > position)
                             .order_by(c.position)).scalars().all()
        for p in later:
            conn.execute(log.chain.update().where(c.position == p).values(position=p - 1))
        value = conn.execute(sa.select(c.chain).where(c.position == position - 1)).scalar()
        rows = conn.execute(sa.select(c.position, c.leaf).where(c.position >= position)
                            .order_by(c.position)).all()
        for p, leaf in rows:
            value = chain_hash(p, value, leaf)
            conn.execute(log.chain.update().where(c.position == p).values(chain=value))


def test_a_rewrite_through_sql_is_refused_and_reported(lg: Ledger, tmp_path: Path) -> None:
    seed(lg)
    grow(lg, 6)
    checkpoint(lg, 10)
    _remove(lg, 4)
    lg.main.heads.close()
    (lg.settings.main.heads_file).unlink()  # the insider also has the shell
    grow(lg, 2)  # and the practice goes on writing
    # The signed size ends inside a block of leaves, so the Merkle frontier read back for
    # it already disagrees with the signed root (the removed event shifted those leaves).
    with pytest.raises(IntegrityFailure, match=r"^main: the stored Merkle tree no longer has "
                       r"the root of the checkpoint of size 19 signed by key [0-9a-f]{16} at "
                       r".*: the log or its tree was rewritten; no checkpoint signed$"):
        checkpoint(lg, 20)
    report = lg.investigation.psychotherapy_releases(by="comp", at=AT + timedelta(hours=1))
    main = report.evidence[0]
    assert not main.ok and report.conclusion is None
    assert main.detail.startswith("the log no longer has the root of the checkpoint of size ")


def test_projections_check_names_the_first_difference(lg: Ledger) -> None:
    seed(lg)
    grow(lg, 4)
    assert set(lg.projections.check().values()) == {None}
    projection = lg.main.access_projection
    projection.catch_up()
    lg.main.tree.catch_up()
    t = projection.table
    with lg.main.engine.begin() as conn:
        second = conn.execute(sa.select(t.c.position).order_by(t.c.position)
                              .offset(1).limit(1)).scalar()
        conn.execute(t.update().where(t.c.position == second).values(outcome="denied"))
        conn.execute(lg.main.tree.nodes.update().where(
            lg.main.tree.nodes.c.level == 1, lg.main.tree.nodes.c.idx == 2
        ).values(hash=bytes(32)))
    found = lg.projections.check()
    assert found["access-main"] == (f"read model access-main disagrees with the log at "
                                    f"position {second}: column outcome was changed")
    assert found["merkle-main"] == ("read model merkle-main disagrees with the leaves: "
                                    "Merkle node 1/2 does not hash from its children")
    assert found["access-pn"] is None and found["record-set"] is None
    lg.projections.rebuild("access-main")
    lg.projections.rebuild("merkle-main")
    assert set(lg.projections.check().values()) == {None}


def test_the_origin_and_the_export_directory_are_settings(settings: Settings,
                                                          tmp_path: Path) -> None:
    custom = replace(settings, checkpoint_origin="clinic.example.org/ledger",
                     checkpoint_dir=tmp_path / "worm")
    with open_ledger(custom) as lg:
        seed(lg)
        written = lg.integrity.checkpoint(at=AT + timedelta(minutes=5))
    assert [c.origin for c, _ in written] == ["clinic.example.org/ledger/main",
                                              "clinic.example.org/ledger/psychotherapy"]
    assert all(path.parent.parent == tmp_path / "worm" for _, path in written)
    # Without the directory, the next checkpoint cannot find the previous one: it refuses.
    with open_ledger(settings) as lg, pytest.raises(
            IntegrityFailure, match=r"^main: the database lists checkpoints but .* holds "
                                    r"none: restore the exported notes"):
        lg.integrity.checkpoint(at=AT + timedelta(minutes=6))
    public = load_public_key(key_paths(settings.keys)[1])
    assert fingerprint(public) in f"ledger/{fingerprint(public)}/main"


def test_a_bad_origin_is_refused() -> None:
    with pytest.raises(BadInput, match=r"^checkpoint origin 'a b' must be a schema-less URL"):
        load_settings("/tmp/x", environ={"LEDGER_CHECKPOINT_ORIGIN": "a b"})
    got = load_settings("/tmp/x", environ={"LEDGER_CHECKPOINT_ORIGIN": "c.example/l/",
                                           "LEDGER_CHECKPOINT_DIR": "/srv/cp"})
    assert got.checkpoint_origin == "c.example/l" and got.checkpoints == Path("/srv/cp")
