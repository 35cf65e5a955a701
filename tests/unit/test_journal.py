"""The destruction journal on its own: chained, signed, append-only; any edit, drop,
reorder, insertion or forged signature is named; a line cut by a crash is skipped and
removed by the next append."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import IntegrityFailure
from ledger.integrity.journal import Destroyed, Journal, compare
from ledger.primitives.crypto import new_signing_key, signing_public_key

KEY = new_signing_key()
PUBLIC = signing_public_key(KEY)
AT = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def destroyed(n: int) -> Destroyed:
    return Destroyed(client_id=uuid.UUID(int=n + 1), at=AT, rule_id="CA-psychologist",
                     citation="Cal. Bus. & Prof. Code 2919", anchor="discharge",
                     anchor_date="2010-06-01", destroy_on="2017-06-01", actor_id="comp",
                     actor_role="compliance")


def journal_of(tmp_path: Path, count: int) -> Journal:
    journal = Journal(tmp_path / "journal" / "destructions.jsonl")
    for n in range(count):
        journal.append([destroyed(n)], KEY)
    return journal


def test_entries_chain_and_verify(tmp_path: Path) -> None:
    journal = journal_of(tmp_path, 3)
    entries = journal.read(PUBLIC)
    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[0].prev == "00" * 32 and entries[1].prev == entries[0].digest().hex()
    assert journal.path is not None and oct(journal.path.stat().st_mode)[-3:] == "600"


def test_a_client_is_journalled_once(tmp_path: Path) -> None:
    journal = journal_of(tmp_path, 2)
    assert journal.append([destroyed(0), destroyed(1), destroyed(2)], KEY)[0].seq == 3
    assert len(journal.read(PUBLIC)) == 3


def test_another_key_does_not_verify(tmp_path: Path) -> None:
    journal = journal_of(tmp_path, 1)
    with pytest.raises(IntegrityFailure, match="line 1: the signature does not verify"):
        journal.read(signing_public_key(new_signing_key()))


def lines(journal: Journal) -> list[bytes]:
    assert journal.path is not None
    return journal.path.read_bytes().splitlines(keepends=True)


def rewrite(journal: Journal, new: list[bytes]) -> None:
    assert journal.path is not None
    journal.path.write_bytes(b"".join(new))


def test_dropping_an_entry_is_caught(tmp_path: Path) -> None:
    journal = journal_of(tmp_path, 3)
    rewrite(journal, [lines(journal)[0], lines(journal)[2]])
    with pytest.raises(IntegrityFailure, match="line 2: sequence 3 where 2 belongs"):
        journal.read(PUBLIC)


def test_reordering_is_caught(tmp_path: Path) -> None:
    journal = journal_of(tmp_path, 3)
    old = lines(journal)
    rewrite(journal, [old[1], old[0], old[2]])
    with pytest.raises(IntegrityFailure, match="line 1: sequence 2 where 1 belongs"):
        journal.read(PUBLIC)


def test_renumbering_after_a_drop_breaks_the_signature(tmp_path: Path) -> None:
    """The insider drops entry 2 and renumbers entry 3 as 2: its signature no longer
    verifies; re-pointing its previous hash needs the key too."""
    journal = journal_of(tmp_path, 3)
    third = json.loads(lines(journal)[2])
    third["seq"] = 2
    rewrite(journal, [lines(journal)[0], json.dumps(third).encode() + b"\n"])
    with pytest.raises(IntegrityFailure, match="line 2: the signature does not verify"):
        journal.read(PUBLIC)


def test_a_forged_entry_is_caught(tmp_path: Path) -> None:
    """An entry signed with another key, chained correctly, is still caught."""
    journal = journal_of(tmp_path, 1)
    forger = Journal(tmp_path / "forged.jsonl")
    forger.append([destroyed(0), destroyed(5)], new_signing_key())
    assert forger.path is not None
    rewrite(journal, [lines(journal)[0], forger.path.read_bytes().splitlines(True)[1]])
    with pytest.raises(IntegrityFailure, match="line 2: the signature does not verify"):
        journal.read(PUBLIC)


@pytest.mark.parametrize("line", [b"{}\n", b"not json\n", b'{"sig": "x"}\n', b"\n",
                                  b'[1, 2]\n'])
def test_a_malformed_line_is_named(tmp_path: Path, line: bytes) -> None:
    journal = journal_of(tmp_path, 2)
    rewrite(journal, [lines(journal)[0], line, lines(journal)[1]])
    with pytest.raises(IntegrityFailure, match="line 2: malformed entry"):
        journal.read(PUBLIC)


def test_a_line_cut_by_a_crash_is_skipped_then_replaced(tmp_path: Path) -> None:
    journal = journal_of(tmp_path, 2)
    rewrite(journal, [lines(journal)[0], lines(journal)[1][:40]])
    assert [e.seq for e in journal.read(PUBLIC)] == [1]
    journal.append([destroyed(7)], KEY)
    entries = journal.read(PUBLIC)
    assert [e.seq for e in entries] == [1, 2]
    assert entries[1].client_id == str(destroyed(7).client_id)


def test_a_damaged_journal_is_never_extended(tmp_path: Path) -> None:
    journal = journal_of(tmp_path, 3)
    rewrite(journal, [lines(journal)[0], lines(journal)[2]])
    with pytest.raises(IntegrityFailure, match="sequence 3 where 2 belongs"):
        journal.append([destroyed(9)], KEY)
    assert len(lines(journal)) == 2


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_single_byte_change_is_caught(tmp_path_factory: pytest.TempPathFactory,
                                          data: st.DataObject) -> None:
    journal = journal_of(tmp_path_factory.mktemp("j"), 3)
    assert journal.path is not None
    raw = bytearray(journal.path.read_bytes())
    at = data.draw(st.integers(0, len(raw) - 2))  # not the last newline
    value = data.draw(st.integers(0, 255).filter(lambda b: b != raw[at]))
    raw[at] = value
    journal.path.write_bytes(bytes(raw))
    try:
        entries = journal.read(PUBLIC)
    except IntegrityFailure:
        return
    # Only a change that cuts a line short and leaves an intact prefix can pass; then an
    # entry is missing, which the comparison with the stores' keys names.
    assert len(entries) < 3


def test_compare_names_a_resurrected_and_an_unjournalled_client(tmp_path: Path) -> None:
    entries = journal_of(tmp_path, 1).read(PUBLIC)
    client = uuid.UUID(entries[0].client_id)
    assert compare(entries, {"main": {client: True}, "pn": {client: True}}) is None
    assert "live data key in the main store again" in str(
        compare(entries, {"main": {client: False}, "pn": {client: True}}))
    assert "has no destroyed key in the pn store" in str(
        compare(entries, {"main": {client: True}, "pn": {}}))
    other = uuid.UUID(int=99)
    assert "is not in the destruction journal" in str(
        compare(entries, {"main": {client: True, other: True}, "pn": {client: True}}))
