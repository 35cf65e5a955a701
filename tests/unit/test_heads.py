"""The known-head file: appended per commit, read as its last complete line, never moved
back, never moved onto a chain that left the head before, compacted when large."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ledger.errors import BadInput
from ledger.integrity import heads as heads_module
from ledger.integrity.heads import HeadFile, parse_head
from ledger.primitives.chain import Head

AT = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def head(position: int) -> Head:
    return Head(position, position.to_bytes(32, "big"))


def test_heads_move_forward_only(tmp_path: Path) -> None:
    f = HeadFile(tmp_path / "heads" / "main.json")
    assert f.read() is None
    assert f.record(head(3), AT) and f.read() == head(3)
    assert f.record(head(2), AT)  # an older head is not an error, and changes nothing
    assert f.read() == head(3)
    f.record(head(5), AT)
    lines = (tmp_path / "heads" / "main.json").read_text().splitlines()
    assert [json.loads(line)["position"] for line in lines] == [3, 5]


def test_the_previous_single_object_format_still_reads_and_extends(tmp_path: Path) -> None:
    path = tmp_path / "main.json"
    path.write_text(json.dumps({"position": 7, "chain": head(7).chain.hex(),
                                "recorded_at": AT.isoformat()}))  # no newline: old files
    f = HeadFile(path)
    assert f.read() == head(7)
    f.record(head(8), AT)
    assert f.read() == head(8)
    assert [json.loads(line)["position"] for line in path.read_text().splitlines()] == [7, 8]


def test_a_line_cut_short_by_a_crash_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "main.json"
    f = HeadFile(path)
    f.record(head(4), AT)
    with path.open("a") as out:
        out.write('{"position": 9, "chain": "ab')  # the writer died here
    other = HeadFile(path)
    assert other.read() == head(4)
    other.record(head(5), AT)
    assert other.read() == head(5)


def test_an_unreadable_file_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "main.json"
    path.write_text("not a head\n")
    with pytest.raises(BadInput, match=r"^known-head file .*main.json is unreadable$"):
        HeadFile(path).read()


def test_a_head_is_not_moved_onto_a_chain_that_left_the_known_one(tmp_path: Path) -> None:
    f = HeadFile(tmp_path / "main.json")
    f.record(head(10), AT)
    assert f.record(head(11), AT, extends=lambda known: False) is False
    assert f.read() == head(10)
    assert f.record(head(11), AT, extends=lambda known: known == head(10)) is True
    assert f.read() == head(11)


def test_another_writer_is_seen_before_the_next_append(tmp_path: Path) -> None:
    """Each process caches what it wrote; another writer's append invalidates that."""
    path = tmp_path / "main.json"
    mine, theirs = HeadFile(path), HeadFile(path)
    mine.record(head(1), AT)
    theirs.record(head(2), AT)
    seen: list[Head] = []
    mine.record(head(3), AT, extends=lambda known: seen.append(known) or True)
    assert seen == [head(2)]
    assert mine.read() == theirs.read() == head(3)


def test_a_large_file_is_compacted_to_its_last_head(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heads_module, "COMPACT_BYTES", 1000)
    path = tmp_path / "main.json"
    f = HeadFile(path)
    for position in range(1, 30):
        f.record(head(position), AT)
    assert path.stat().st_size <= 1000
    assert f.read() == head(29)
    f.record(head(30), AT)
    assert HeadFile(path).read() == head(30)


def test_an_in_memory_store_keeps_no_head() -> None:
    f = HeadFile(None)
    assert f.record(head(1), AT) and f.read() is None


@pytest.mark.parametrize(("text", "message"), [
    ("zz", r"^a head is POSITION:HEX"),
    ("0:" + "00" * 32, r"^a head needs a position of at least 1"),
    ("3:abcd", r"^a head needs a position of at least 1 and a 32-byte hex chain value$"),
])
def test_a_head_given_on_the_command_line_is_checked(text: str, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        parse_head(text)
