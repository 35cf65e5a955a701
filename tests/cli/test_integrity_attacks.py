"""An insider with write access to the database (and, for some, the shell) tries to make
the investigator's report and the checkpoint signer conclude from something other than
the log. Each attempt must end in exit 3 naming what failed, or in a report that still
lists every release."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from ledger.primitives.chain import chain_hash, leaf_hash
from tests.cli.test_cli_sealed import ok, practice
from tests.conftest import PN_ASSERTION, release_file

PN = "psychotherapy"


def releasing_practice(run) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Two releases of a psychotherapy note, a checkpoint over them, and the report."""
    _, pn_id = practice(run)
    ok(run("pn", "show", pn_id, "--as", "dr-lee", "--purpose", "TREAT"))
    ok(run("pn", "show", pn_id, "--as", "sup", "--purpose", "TRAIN", "--exception",
           "SUPERVISED_TRAINING"))
    ok(run("disclose", "--client", "C-1", "--as", "comp", "--to", "County Coroner",
           "--recipient-type", "coroner", "--purpose", "PUBHLTH", "--pn", pn_id,
           "--exception", "CORONER_512g1", *PN_ASSERTION, "--out", release_file(run)))
    ok(run("pn", "show", pn_id, "--as", "dr-lee", "--purpose", "TREAT"))
    ok(run("checkpoint"))
    got = investigate(run)
    assert got["verified"] and len(releases(got)) == 2
    return got  # type: ignore[no-any-return]


def investigate(run, code: int = 0) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    r = run("investigate", "psychotherapy-releases", "--as", "comp", "--json")
    assert r.exit_code == code, (r.output, r.stderr)
    return json.loads(r.output)  # type: ignore[no-any-return]


def releases(report: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["actor"], e["action"]) for e in report["events"] if e["kind"] == "release"]


def pn_db(tmp_path: Path) -> sqlite3.Connection:
    return sqlite3.connect(tmp_path / "data" / f"{PN}.sqlite")


def rechain(db: sqlite3.Connection, start: int) -> None:
    """Recompute every chain value from ``start`` on, as a careful insider would."""
    previous = db.execute(f"SELECT chain FROM {PN}_chain WHERE position = ?",
                          (start - 1,)).fetchone()
    value = previous[0] if previous else bytes(32)
    rows = db.execute(f"SELECT position, leaf FROM {PN}_chain WHERE position >= ? "
                      "ORDER BY position", (start,)).fetchall()
    for position, leaf in rows:
        value = chain_hash(position, value, leaf)
        db.execute(f"UPDATE {PN}_chain SET chain = ? WHERE position = ?", (value, position))


def remove_event(db: sqlite3.Connection, notification_id: int) -> None:
    """Delete one event and its chain row, close the gap and recompute the chain."""
    (position,) = db.execute(f"SELECT position FROM {PN}_chain WHERE notification_id = ?",
                             (notification_id,)).fetchone()
    db.execute(f"DELETE FROM {PN}_events WHERE id = ?", (notification_id,))
    db.execute(f"DELETE FROM {PN}_chain WHERE position = ?", (position,))
    later = db.execute(f"SELECT position FROM {PN}_chain WHERE position > ? "
                       "ORDER BY position", (position,)).fetchall()
    for (p,) in later:
        db.execute(f"UPDATE {PN}_chain SET position = ? WHERE position = ?", (p - 1, p))
    db.execute(f"DELETE FROM {PN}_access WHERE position = ?", (notification_id,))
    rechain(db, position)


def edit_event(db: sqlite3.Connection, notification_id: int) -> None:
    """Change one event's stored bytes, recompute its leaf and every chain value after."""
    oid, version, topic, state = db.execute(
        f"SELECT originator_id, originator_version, topic, state FROM {PN}_events "
        "WHERE id = ?", (notification_id,)).fetchone()
    state = state[:-1] + bytes([state[-1] ^ 1])
    db.execute(f"UPDATE {PN}_events SET state = ? WHERE id = ?", (state, notification_id))
    leaf = leaf_hash(notification_id, oid, version, topic, state)
    db.execute(f"UPDATE {PN}_chain SET leaf = ? WHERE notification_id = ?",
               (leaf, notification_id))
    (position,) = db.execute(f"SELECT position FROM {PN}_chain WHERE notification_id = ?",
                             (notification_id,)).fetchone()
    rechain(db, position)


def rebuild_nodes(db: sqlite3.Connection) -> None:
    db.execute(f"DELETE FROM {PN}_merkle_nodes")
    db.execute(f"DELETE FROM {PN}_projection_tracking WHERE name = 'merkle'")


@pytest.mark.parametrize("nodes", ["left", "rebuilt"])
@pytest.mark.parametrize("heads", ["kept", "removed"])
@pytest.mark.parametrize("how", ["remove", "edit"])
def test_a_consistent_rewrite_of_the_chain_is_refused(
        run, tmp_path: Path, how: str, heads: str, nodes: str) -> None:  # type: ignore[no-untyped-def]
    got = releasing_practice(run)
    release = next(e for e in got["events"] if e["kind"] == "release")
    db = pn_db(tmp_path)
    (remove_event if how == "remove" else edit_event)(db, release["notification_id"])
    if nodes == "rebuilt":
        rebuild_nodes(db)
    db.commit()
    db.close()
    if heads == "removed":
        shutil.rmtree(tmp_path / "data" / "heads")
    after = investigate(run, 3)
    pn = next(e for e in after["evidence"] if e["store"] == PN)
    assert after["conclusion"] is None and not pn["ok"]
    expected = ("known head" if heads == "kept" else
                "no longer has the root of the checkpoint of size")
    assert expected in pn["detail"]
    r = run("checkpoint")
    assert r.exit_code == 3
    assert r.stderr.startswith(f"error: {PN}: ") and "no checkpoint signed" in r.stderr


def test_overwriting_the_checkpoint_table_too_changes_nothing(
        run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    got = releasing_practice(run)
    release = next(e for e in got["events"] if e["kind"] == "release")
    db = pn_db(tmp_path)
    remove_event(db, release["notification_id"])
    rebuild_nodes(db)
    # The columns now say what the rewritten log has; the signed note file does not.
    (size,) = db.execute(f"SELECT max(position) FROM {PN}_chain").fetchone()
    db.execute(f"UPDATE {PN}_checkpoints SET size = ?, root = ?", (size, bytes(32)))
    db.commit()
    db.close()
    shutil.rmtree(tmp_path / "data" / "heads")
    pn = next(e for e in investigate(run, 3)["evidence"] if e["store"] == PN)
    assert "no longer has the root of the checkpoint of size" in pn["detail"]
    assert run("checkpoint").exit_code == 3


@pytest.mark.parametrize("change", ["delete", "insert", "edit"])
def test_read_model_rows_cannot_hide_a_release(
        run, tmp_path: Path, change: str) -> None:  # type: ignore[no-untyped-def]
    got = releasing_practice(run)
    release = next(e for e in got["events"] if e["kind"] == "release")
    nid = release["notification_id"]
    db = pn_db(tmp_path)
    if change == "delete":
        db.execute(f"DELETE FROM {PN}_access WHERE position = ?", (nid,))
        where = nid
    elif change == "edit":  # the release made to look refused
        db.execute(f"UPDATE {PN}_access SET outcome = 'denied' WHERE position = ?", (nid,))
        where = nid
    else:  # a row no event makes, at the position of the note's own creation
        where = db.execute(f"SELECT min(id) FROM {PN}_events").fetchone()[0]
        db.execute(f"INSERT INTO {PN}_access SELECT ?, at, actor_id, actor_role, action, "
                   f"outcome, object_type, client_id, purpose, break_glass, recipient_type, "
                   f"accountable FROM {PN}_access WHERE position = ?", (where, nid))
    db.commit()
    db.close()
    after = investigate(run, 3)
    assert releases(after) == releases(got)  # built from the log, not the read model
    assert after["read_models_disagreeing"] == ["access-pn"]
    pn = next(e for e in after["evidence"] if e["store"] == PN)
    assert f"read model access-pn disagrees with the log at position {where}" in pn["detail"]
    r = run("projections", "check")
    assert r.exit_code == 3
    assert f"access-pn\tread model access-pn disagrees with the log at position {where}: " \
        in r.output
    assert "access-main\tagrees with the log" in r.output
    ok(run("projections", "rebuild", "access-pn"))
    assert ok(run("projections", "check")).count("agrees with the log") == 7
    assert investigate(run)["verified"]


def test_a_truncated_tail_after_the_last_checkpoint_is_caught(
        run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    got = releasing_practice(run)
    pn_id = next(e["object"] for e in got["events"] if e["kind"] == "release")
    ok(run("pn", "show", pn_id, "--as", "sup", "--purpose", "TRAIN", "--exception",
           "SUPERVISED_TRAINING"))  # a third release, after the checkpoint
    db = pn_db(tmp_path)
    db.execute(f"DELETE FROM {PN}_chain WHERE position > (SELECT max(position) - 2 "
               f"FROM {PN}_chain)")
    db.execute(f"DELETE FROM {PN}_events WHERE id > (SELECT max(notification_id) "
               f"FROM {PN}_chain)")
    db.commit()
    db.close()
    pn = next(e for e in investigate(run, 3)["evidence"] if e["store"] == PN)
    assert "truncated: store ends at position" in pn["detail"]
    assert "but a known head records position" in pn["detail"]


def test_a_tracking_row_moved_back_fails_instead_of_hiding_or_looping(
        run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    got = releasing_practice(run)
    db = pn_db(tmp_path)
    db.execute(f"UPDATE {PN}_projection_tracking SET position = 0 WHERE name = 'merkle'")
    db.commit()
    # The report rests on the log, so it still lists every release.
    assert releases(investigate(run)) == releases(got)
    r = run("checkpoint")
    assert r.exit_code == 3
    assert "the merkle read model already has rows after position 0" in r.stderr
    assert "the tracking row was moved back" in r.stderr
    db.execute(f"UPDATE {PN}_projection_tracking SET position = 1 WHERE name = 'access'")
    db.commit()
    db.close()
    r = run("investigate", "psychotherapy-releases", "--as", "comp")
    assert r.exit_code == 3
    assert r.stderr == (f"error: {PN}: the access read model already has rows after "
                        "position 1, where its tracking row says it stands: the tracking "
                        "row was moved back (run ledger projections check, then rebuild "
                        "it)\n")


def test_a_deleted_read_model_row_does_not_leave_an_event_out_of_a_bundle(
        run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    got = releasing_practice(run)
    release = next(e for e in got["events"] if e["kind"] == "release")
    db = pn_db(tmp_path)
    db.execute(f"DELETE FROM {PN}_access WHERE position = ?", (release["notification_id"],))
    db.commit()
    db.close()
    out = tmp_path / "bundle"
    ok(run("export", "bundle", "--out", str(out), "--store", "pn", "--client", "C-1"))
    lines = (out / PN / "events.jsonl").read_text(encoding="utf-8").splitlines()
    assert release["position"] in [json.loads(line)["position"] for line in lines]
