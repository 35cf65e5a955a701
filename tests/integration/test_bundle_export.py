"""Bundle export on SQLite and PostgreSQL: the proofs made a block at a time equal the naive
twin's across block boundaries, full and partial blocks, all events or chosen ones; a cached
Merkle node that disagrees with the signed root stops the export, naming the positions, and
leaves nothing behind."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from ledger.bootstrap import Ledger
from ledger.errors import IntegrityFailure
from ledger.integrity import bundle, proving
from ledger.primitives import merkle
from tests.conftest import AT, chain_leaves, grow, seed


def rows(out: Path) -> list[dict[str, object]]:
    text = (out / "main" / "events.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def signed_practice(lg: Ledger, reads: int) -> list[bytes]:
    """A practice with a signed checkpoint over all of its main store; its leaves."""
    seed(lg)
    grow(lg, reads)
    lg.integrity.checkpoint(at=AT + timedelta(days=1))
    return chain_leaves(lg.main)


def edit_node(lg: Ledger, level: int, index: int) -> None:
    nodes = lg.main.tree.nodes
    with lg.main.engine.begin() as conn:
        done = conn.execute(nodes.update().where(nodes.c.level == level, nodes.c.idx == index)
                            .values(hash=b"\x07" * 32))
        assert done.rowcount == 1


@pytest.mark.parametrize("block_level", [0, 1, 2, 3, 12])
def test_block_proofs_equal_the_naive_twin(lg: Ledger, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch,
                                           block_level: int) -> None:
    monkeypatch.setattr(proving, "BLOCK_LEVEL", block_level)
    leaves = signed_practice(lg, 10)
    size, naive = len(leaves), merkle.MemoryNodes(leaves)
    assert size == 23  # not a power of two: a partial block at every level
    public = lg.proofs.public_key()
    for name, chosen in (("all", None), ("some", [1, 2, size // 2, size - 1, size])):
        out = tmp_path / name
        if chosen is None:
            lg.proofs.export_bundle(out, stores=("main",))
        else:
            monkeypatch.setattr(lg.main, "evidence_positions",
                                lambda **_: chosen)  # noqa: B023 (used at once)
            lg.proofs.export_bundle(out, stores=("main",), client_ref="C-1")
        got = rows(out)
        assert [r["position"] for r in got] == (chosen or list(range(1, size + 1)))
        for r in got:
            index = int(str(r["position"])) - 1
            assert r["inclusion"] == [p.hex() for p in merkle.inclusion_proof(naive, index,
                                                                              size)]
            assert r["leaf"] == leaves[index].hex()
        (report,) = bundle.verify_bundle(out, public)
        assert report.ok and report.events == len(got), report.problems


def test_a_cached_node_above_a_block_that_disagrees_is_named(
        lg: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(proving, "BLOCK_LEVEL", 2)
    signed_practice(lg, 10)
    edit_node(lg, 2, 0)  # positions 1-4: computed in memory for them, read for 5-8
    out = tmp_path / "exports" / "b"
    with pytest.raises(IntegrityFailure, match=r"^main: the inclusion proof for positions 5 "
                       r"to 8 made from the Merkle tree cached in the database does not "
                       r"verify against the checkpoint of size \d+ signed by key "):
        lg.proofs.export_bundle(out, stores=("main",))
    assert not list(out.parent.iterdir())


def test_a_cached_node_a_partial_block_rests_on_is_named(
        lg: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(proving, "BLOCK_LEVEL", 3)
    assert len(signed_practice(lg, 10)) == 23  # blocks 1-8 and 9-16 full, 17-23 partial
    edit_node(lg, 4, 0)  # positions 1-16: only the partial block's proofs read it
    with pytest.raises(IntegrityFailure, match=r"^main: the inclusion proof for position 17 "
                       r"made from the Merkle tree cached in the database does not verify"):
        lg.proofs.export_bundle(tmp_path / "exports" / "b", stores=("main",))
    assert not list((tmp_path / "exports").iterdir())


def test_an_export_to_an_existing_directory_is_refused(lg: Ledger, tmp_path: Path) -> None:
    from ledger.errors import BadInput

    signed_practice(lg, 2)
    (tmp_path / "exports" / "b").mkdir(parents=True)
    with pytest.raises(BadInput, match=r"b already exists; give a new directory$"):
        lg.proofs.export_bundle(tmp_path / "exports" / "b")
    assert [p.name for p in (tmp_path / "exports").iterdir()] == ["b"]
