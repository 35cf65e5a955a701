"""Bundles: checked with no database and no secret key; truncating, editing, reordering or
inserting events after a checkpoint is caught, and so is a forged checkpoint."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from ledger.integrity.checkpoint import fingerprint
from ledger.keys.signing import load_public_key
from tests.cli.test_cli import setup_practice


def origin(tmp_path: Path, store: str) -> str:
    public = load_public_key(tmp_path / "data" / "keys" / "checkpoint.pub")
    return f"ledger/{fingerprint(public)}/{store}"


def exported(run, tmp_path: Path) -> tuple[Path, Path]:  # type: ignore[no-untyped-def]
    note_id = setup_practice(run)
    for _ in range(5):
        run("note", "show", note_id, "--as", "dr-lee", "--purpose", "TREAT")
    assert run("checkpoint").exit_code == 0
    run("note", "show", note_id, "--as", "dr-lee", "--purpose", "TREAT")
    assert run("checkpoint").exit_code == 0
    out = tmp_path / "bundle"
    r = run("export", "bundle", "--out", str(out), "--store", "main")
    assert r.exit_code == 0, r.stderr
    return out, tmp_path / "data" / "keys" / "checkpoint.pub"


def verify(run, out: Path, key: Path):  # type: ignore[no-untyped-def]
    return run("verify-bundle", str(out), "--public-key", str(key), "--json")


def events(out: Path) -> list[dict[str, object]]:
    text = (out / "main" / "events.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def rewrite(out: Path, rows: list[dict[str, object]]) -> None:
    (out / "main" / "events.jsonl").write_text(
        "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows), encoding="utf-8")


def test_an_intact_bundle_verifies_offline(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out, key = exported(run, tmp_path)
    r = verify(run, out, key)
    assert r.exit_code == 0, r.output
    (report,) = json.loads(r.output)
    assert report["ok"] and report["checkpoints"] == 2
    assert report["events"] == report["size"] == len(events(out))
    text = run("verify-bundle", str(out), "--public-key", str(key)).output
    assert text.startswith("main: verified, ")


@pytest.mark.parametrize(("damage", "message"), [
    ("edit", "the event does not match its leaf (edited)"),
    ("truncate", "missing from the bundle (it ends early"),
    ("drop-middle", "missing from the bundle (found"),
    ("reorder", "not included in the signed tree"),
    ("swap", "position 4: reordered (it comes after position 5)"),
    ("insert", "out of order or repeated"),
    ("rewrite", "not included in the signed tree"),
])
def test_tampering_is_caught_and_named(run, tmp_path: Path, damage: str,  # type: ignore[no-untyped-def]
                                       message: str) -> None:
    out, key = exported(run, tmp_path)
    rows = events(out)
    if damage == "edit":
        state = bytearray(base64.b64decode(str(rows[3]["state"])))
        state[-1] ^= 1
        rows[3]["state"] = base64.b64encode(bytes(state)).decode()
    elif damage == "truncate":
        rows = rows[:-2]
    elif damage == "drop-middle":
        del rows[4]
    elif damage == "reorder":  # two events swapped under their positions
        moved = ("notification_id", "originator_id", "originator_version", "topic", "state",
                 "leaf", "chain")
        a, b = rows[3], rows[4]
        for k in moved:
            a[k], b[k] = b[k], a[k]
    elif damage == "swap":  # two lines swapped, positions and all
        rows[3], rows[4] = rows[4], rows[3]
    elif damage == "insert":
        rows.insert(5, dict(rows[2]))
    else:  # an administrator rewrote an event and recomputed its leaf and chain
        state = bytearray(base64.b64decode(str(rows[3]["state"])))
        state[-1] ^= 1
        rows[3]["state"] = base64.b64encode(bytes(state)).decode()
        from ledger.primitives.chain import leaf_hash
        r = rows[3]
        rows[3]["leaf"] = leaf_hash(int(r["notification_id"]),  # type: ignore[call-overload]
                                    bytes.fromhex(str(r["originator_id"])),
                                    int(r["originator_version"]),  # type: ignore[call-overload]
                                    str(r["topic"]), bytes(state)).hex()
    rewrite(out, rows)
    r = verify(run, out, key)
    assert r.exit_code == 3
    (report,) = json.loads(r.output)
    assert not report["ok"] and message in report["problems"][0], report


def test_a_forged_or_foreign_checkpoint_is_rejected(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out, key = exported(run, tmp_path)
    note = sorted((out / "main" / "checkpoints").glob("*.note"))[-1]
    lines = note.read_text(encoding="utf-8").split("\n")
    lines[1] = str(int(lines[1]) + 1)
    note.write_text("\n".join(lines), encoding="utf-8")
    (report,) = json.loads(verify(run, out, key).output)
    assert "no valid signature by this key" in report["problems"][0]
    from ledger.primitives.crypto import new_signing_key, signing_public_key
    stranger = tmp_path / "stranger.pub"
    stranger.write_text(base64.b64encode(signing_public_key(new_signing_key())).decode())
    out2 = tmp_path / "second"
    assert run("export", "bundle", "--out", str(out2), "--store", "main").exit_code == 0
    assert verify(run, out2, stranger).exit_code == 3


def test_a_bundle_needs_a_checkpoint_and_leaves_nothing_half_written(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    setup_practice(run)
    out = tmp_path / "b"
    r = run("export", "bundle", "--out", str(out))
    assert r.exit_code == 1
    assert r.stderr == ("error: the main store has no checkpoint yet; run ledger checkpoint "
                        "first\n")
    assert not out.exists()


def test_a_bundle_cut_to_one_client_or_a_period_still_verifies(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from ledger.bootstrap import open_ledger
    from ledger.settings import load_settings

    note_id = setup_practice(run)
    assert run("client", "add", "--id", "C-2", "--name", "Other", "--dob", "1980-01-01",
               "--state", "NY", "--as", "desk").exit_code == 0
    other = run("note", "write", "--client", "C-2", "--as", "dr-lee", input="other\n")
    run("note", "show", other.output.strip(), "--as", "dr-lee", "--purpose", "TREAT")
    run("note", "show", note_id, "--as", "dr-lee", "--purpose", "TREAT")
    assert run("checkpoint").exit_code == 0
    key = tmp_path / "data" / "keys" / "checkpoint.pub"
    out = tmp_path / "c1"
    assert run("export", "bundle", "--out", str(out), "--client", "C-1").exit_code == 0
    r = verify(run, out, key)
    assert r.exit_code == 0, r.output
    rows = events(out)
    originators = {str(row["originator_id"]) for row in rows}
    with open_ledger(load_settings(str(tmp_path / "data"))) as lg:
        c1, c2 = lg.client_id("C-1"), lg.client_id("C-2")
    assert c1.hex in originators
    assert c2.hex not in originators
    assert note_id.replace("-", "") in originators
    assert other.output.strip().replace("-", "") not in originators
    rewrite(out, rows[:1] + rows[2:])
    reports = {r["store"]: r for r in json.loads(verify(run, out, key).output)}
    assert reports["psychotherapy"]["ok"] is True
    assert "missing from the bundle" in reports["main"]["problems"][0]
    period = tmp_path / "period"
    assert run("export", "bundle", "--out", str(period), "--from", "2000-01-01", "--to",
               "2099-12-31").exit_code == 0
    assert verify(run, period, key).exit_code == 0


def test_a_bundle_must_hold_the_checkpoint_you_hold_and_say_what_it_covers(
        run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out, key = exported(run, tmp_path)
    notes = sorted((out / "main" / "checkpoints").glob("*.note"))
    latest = tmp_path / "held.note"
    latest.write_text(notes[-1].read_text(encoding="utf-8"), encoding="utf-8")
    ok_run = run("verify-bundle", str(out), "--public-key", str(key), "--checkpoint",
                 str(latest))
    assert ok_run.exit_code == 0 and "all " in ok_run.output
    # An older-looking bundle: the newest checkpoint and the events after the older one
    # removed, proofs rebuilt for the older size. Without the held checkpoint it would pass.
    older = tmp_path / "older"
    import shutil
    shutil.copytree(out, older)
    (older / "main" / "checkpoints" / notes[-1].name).unlink()
    r = run("verify-bundle", str(older), "--public-key", str(key), "--checkpoint", str(latest),
            "--json")
    assert r.exit_code == 3
    assert "the checkpoint you hold (size" in json.loads(r.output)[0]["problems"][0]
    # A full bundle relabelled as a selection says so.
    proofs = json.loads((out / "main" / "proofs.json").read_text(encoding="utf-8"))
    rows = events(out)
    proofs["positions"] = [int(str(r["position"])) for r in rows[:3]]
    (out / "main" / "proofs.json").write_text(json.dumps(proofs), encoding="utf-8")
    rewrite(out, rows[:3])
    text = run("verify-bundle", str(out), "--public-key", str(key)).output
    assert "verified, 3 selected events" in text
    proofs["positions"] = [3, 3]
    (out / "main" / "proofs.json").write_text(json.dumps(proofs), encoding="utf-8")
    (report,) = json.loads(verify(run, out, key).output)
    assert "positions is malformed" in report["problems"][0]
    proofs["positions"] = [1, 2, 3, proofs["size"] + 5]  # beyond the signed tree
    (out / "main" / "proofs.json").write_text(json.dumps(proofs), encoding="utf-8")
    (report,) = json.loads(verify(run, out, key).output)
    assert report["problems"] == [
        "the list of positions is malformed (not sorted, unique, in range)"]
    proofs["positions"] = 7
    (out / "main" / "proofs.json").write_text(json.dumps(proofs), encoding="utf-8")
    (report,) = json.loads(verify(run, out, key).output)
    assert not report["ok"]


def test_checkpoints_of_the_other_store_are_refused(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    setup_practice(run)
    assert run("checkpoint").exit_code == 0
    out = tmp_path / "both"
    assert run("export", "bundle", "--out", str(out)).exit_code == 0
    key = tmp_path / "data" / "keys" / "checkpoint.pub"
    main_note = next((out / "main" / "checkpoints").glob("*.note"))
    pn_note = next((out / "psychotherapy" / "checkpoints").glob("*.note"))
    main_note.write_text(pn_note.read_text(encoding="utf-8"), encoding="utf-8")
    reports = {r["store"]: r for r in json.loads(verify(run, out, key).output)}
    pn_origin = origin(tmp_path, "psychotherapy")
    assert reports["main"]["problems"][0] == (f"checkpoint {main_note.name} is for {pn_origin}, "
                                              "not the main store")


def test_held_checkpoints_are_matched_by_store_and_origins_must_agree(
        run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from ledger.integrity.checkpoint import make_note, parse_note
    from ledger.keys.signing import load_signing_key

    out, key = exported(run, tmp_path)
    pn_held = sorted((tmp_path / "data" / "checkpoints" / "psychotherapy").glob("*.note"))[-1]
    r = run("verify-bundle", str(out), "--public-key", str(key), "--checkpoint", str(pn_held),
            "--json")
    assert r.exit_code == 3
    assert [(x["store"], x["problems"]) for x in json.loads(r.output)] == [
        ("main", []),
        ("psychotherapy", ["the bundle has no psychotherapy folder, but you hold a checkpoint "
                           "of that store"])]
    # A note signed by the same key under another origin, after the bundle's own.
    private = load_signing_key(tmp_path / "data" / "keys")
    notes = sorted((out / "main" / "checkpoints").glob("*.note"))
    latest = parse_note(notes[-1].read_text(encoding="utf-8"), load_public_key(key))
    other = make_note("clinic.example.org/ledger/main", latest.size, latest.root, latest.time,
                      private)
    (out / "main" / "checkpoints" / "999999999999-z.note").write_text(other, encoding="utf-8")
    (report,) = json.loads(verify(run, out, key).output)
    assert report["problems"] == [
        f"checkpoint 999999999999-z.note is for clinic.example.org/ledger/main, the "
        f"checkpoints before it for {origin(tmp_path, 'main')}"]


# ----- what an export hands out rests on the signed notes, not on the database's caches ------

def sql(tmp_path: Path, statement: str, **params: object) -> None:
    import sqlalchemy as sa

    from ledger import settings as settings_module

    settings = settings_module.load_settings(str(tmp_path / "data"), environ={})
    engine = sa.create_engine(settings.main.url)
    with engine.begin() as conn:
        conn.execute(sa.text(statement), params)
    engine.dispose()


def nothing_left(out: Path) -> bool:
    return not out.exists() and not list(out.parent.glob(f"{out.name}.partial-*"))


def test_edited_merkle_nodes_stop_the_export_and_are_named(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    exported(run, tmp_path)
    notes = sorted((tmp_path / "data" / "checkpoints" / "main").glob("*.note"))
    old, new = (int(n.name.split("-")[0]) for n in notes)
    sql(tmp_path, "UPDATE ledger_merkle_nodes SET hash = :h", h=b"\x07" * 32)
    again = tmp_path / "again"
    r = run("export", "bundle", "--out", str(again), "--store", "main")
    assert r.exit_code == 3
    assert r.stderr.startswith("error: main: the Merkle tree cached in the database does not "
                               f"prove that the checkpoint of size {new} signed by key ")
    assert r.stderr.endswith(f"extends the one of size {old}: the cached nodes were altered "
                             "or the log was rewritten; run ledger verify\n")
    assert nothing_left(again)


def test_an_edited_event_stops_the_export_and_is_named(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    exported(run, tmp_path)
    sql(tmp_path, "UPDATE ledger_events SET state = :s WHERE id = (SELECT notification_id "
        "FROM ledger_chain WHERE position = 5)", s=b"rewritten")
    again = tmp_path / "again"
    r = run("export", "bundle", "--out", str(again))
    assert r.exit_code == 3
    assert r.stderr == ("error: main: position 5: the stored event does not match its leaf "
                        "(edited); run ledger verify\n")
    assert nothing_left(again)


def test_the_checkpoint_table_is_not_what_an_export_rests_on(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out, key = exported(run, tmp_path)
    sql(tmp_path, "UPDATE ledger_checkpoints SET size = 2, root = :r, note = 'forged'",
        r=b"\x07" * 32)
    again = tmp_path / "again"
    assert run("export", "bundle", "--out", str(again), "--store", "main").exit_code == 0
    for name in ("events.jsonl", "proofs.json"):
        assert (again / "main" / name).read_bytes() == (out / "main" / name).read_bytes()
    assert sorted(p.name for p in (again / "main" / "checkpoints").iterdir()) == sorted(
        p.name for p in (tmp_path / "data" / "checkpoints" / "main").iterdir())
    assert verify(run, again, key).exit_code == 0


def test_a_forged_exported_note_stops_the_export(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    exported(run, tmp_path)
    note = sorted((tmp_path / "data" / "checkpoints" / "main").glob("*.note"))[0]
    lines = note.read_text(encoding="utf-8").split("\n")
    lines[2] = base64.b64encode(b"\x07" * 32).decode()
    note.write_text("\n".join(lines), encoding="utf-8")
    again = tmp_path / "again"
    r = run("export", "bundle", "--out", str(again))
    assert r.exit_code == 3
    assert r.stderr == (f"error: {note}: checkpoint for {origin(tmp_path, 'main')}: no valid "
                        "signature by this key\n")
    assert nothing_left(again)


# Stops in the middle of the export, at the third event's leaf, until it is terminated.
STALLED = """
import sys, time
from ledger.integrity import bundle

real, calls = bundle.leaf_hash, []

def stalled(*args):
    calls.append(1)
    if len(calls) == 3:
        print("stalled", flush=True)
        time.sleep(600)
    return real(*args)

bundle.leaf_hash = stalled
sys.argv = ["ledger", *sys.argv[1:]]
from cli.main import main
main()
"""


def test_an_export_terminated_mid_way_leaves_nothing(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import os
    import signal
    import subprocess
    import sys

    from tests.cli.test_cli import ROOT

    exported(run, tmp_path)
    out = tmp_path / "stopped"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    proc = subprocess.Popen([sys.executable, "-c", STALLED, "--data-dir",
                             str(tmp_path / "data"), "export", "bundle", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT, env=env)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "stalled\n"
        staged = list(tmp_path.glob("stopped.partial-*"))
        assert len(staged) == 1 and (staged[0] / "main" / "checkpoints").is_dir()
        assert not out.exists()
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    assert nothing_left(out)
