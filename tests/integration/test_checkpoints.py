"""Signed checkpoints: C2SP signed notes that verify with the public key only; forged or
altered ones are rejected; a log rewritten after a checkpoint cannot get the next one."""

from __future__ import annotations

import base64
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from ledger.bootstrap import initialise, open_ledger
from ledger.errors import IntegrityFailure
from ledger.integrity.checkpoint import Checkpoint, fingerprint, make_note, parse_note
from ledger.integrity.tree import StoredTree
from ledger.keys.signing import key_paths, load_public_key, load_signing_key
from ledger.primitives import merkle
from ledger.primitives.crypto import new_signing_key, signing_public_key
from ledger.settings import Settings
from tests.conftest import AT, grow, seed


def checkpoint_all(settings: Settings, at: datetime) -> list[tuple[Checkpoint, Path]]:
    """Both stores checkpointed as the CLI and the scheduler do it."""
    with open_ledger(settings) as lg:
        return lg.integrity.checkpoint(at=at)


@pytest.fixture
def practice(tmp_path: Path) -> Settings:
    from ledger import settings as settings_module

    s = settings_module.load_settings(str(tmp_path / "data"), environ={})
    initialise(s, AT)
    lg = open_ledger(s)
    try:
        seed(lg)
        grow(lg, 10)
    finally:
        lg.close()
    return s


def test_a_checkpoint_per_store_verifies_with_the_public_key(practice: Settings) -> None:
    written = checkpoint_all(practice, AT + timedelta(hours=1))
    public = load_public_key(key_paths(practice.data_dir / "keys")[1])
    base = f"ledger/{fingerprint(public)}"
    assert [c.origin for c, _ in written] == [f"{base}/main", f"{base}/psychotherapy"]
    for c, path in written:
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        assert lines[0] == c.origin and lines[1] == str(c.size)
        assert base64.b64decode(lines[2]) == c.root and lines[3].startswith("time ")
        if c.size:  # the chain value there, where the next checkpoint's walk starts
            assert c.chain == base64.b64decode(lines.pop(4).removeprefix("chain "))
        # The destruction journal's length and last hash (none yet: 0 and zeros).
        assert lines.pop(4) == f"journal 0 {base64.b64encode(bytes(32)).decode()}"
        assert c.journal is not None and c.journal.entries == 0
        assert lines[4] == "" and lines[5].startswith(f"\u2014 {c.origin} ")
        assert parse_note(text, public).root == c.root
    lg = open_ledger(practice)
    app = lg.main
    try:
        tree = StoredTree(app.event_log)
        main_cp = written[0][0]
        assert main_cp.root == merkle.root(tree, main_cp.size)
    finally:
        lg.close()
    # Again with nothing new: a checkpoint all the same (gaps must be visible).
    again = checkpoint_all(practice, AT + timedelta(hours=2))
    assert [c.size for c, _ in again] == [c.size for c, _ in written]
    assert len(list((practice.data_dir / "checkpoints" / "main").iterdir())) == 2


def test_forged_checkpoints_are_rejected(practice: Settings) -> None:
    private = load_signing_key(practice.data_dir / "keys")
    public = signing_public_key(private)
    note = make_note("ledger/main", 12, b"\x07" * 32, AT, private)
    assert parse_note(note, public).size == 12
    other = new_signing_key()
    with pytest.raises(IntegrityFailure, match=r"no valid signature by this key"):
        parse_note(make_note("ledger/main", 12, b"\x07" * 32, AT, other), public)
    lines = note.split("\n")
    for i, forged in ((1, "13"), (2, base64.b64encode(b"\x08" * 32).decode())):
        altered = "\n".join([*lines[:i], forged, *lines[i + 1:]])
        with pytest.raises(IntegrityFailure, match=r"no valid signature by this key"):
            parse_note(altered, public)
    with pytest.raises(IntegrityFailure, match=r"no signature block"):
        parse_note(note.split("\n\n")[0], public)


def test_a_truncated_log_cannot_be_checkpointed_again(practice: Settings) -> None:
    checkpoint_all(practice, AT + timedelta(hours=1))
    lg = open_ledger(practice)
    app = lg.main
    try:
        chain = app.event_log.chain
        nodes = sa.Table("ledger_merkle_nodes", sa.MetaData(), autoload_with=app.engine)
        tracking = sa.Table("ledger_projection_tracking", sa.MetaData(), autoload_with=app.engine)
        events = app.event_log.events
        with app.engine.begin() as conn:  # an administrator truncates and rebuilds
            conn.execute(events.delete().where(events.c.id > 5))
            conn.execute(chain.delete().where(chain.c.position > 5))
            conn.execute(nodes.delete())
            conn.execute(tracking.delete().where(tracking.c.name == "merkle"))
    finally:
        lg.close()
    # The known head, outside the database, catches it first.
    with pytest.raises(IntegrityFailure, match=r"^main: the log has 5 events but the "
                       r"checkpoint of size \d+ signed by key [0-9a-f]{16} at .* covers \d+: "
                       r"it was truncated; no checkpoint signed$"):
        checkpoint_all(practice, AT + timedelta(hours=2))
    # With shell access the heads go too; the signed checkpoint still catches it.
    shutil.rmtree(practice.data_dir / "heads")
    with pytest.raises(IntegrityFailure, match=r"^main: the log has 5 events but the "
                       r"checkpoint of size \d+ .* it was truncated; no checkpoint signed$"):
        checkpoint_all(practice, AT + timedelta(hours=2))
