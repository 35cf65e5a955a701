from __future__ import annotations

import pytest

from ledger.bootstrap import Ledger
from ledger.errors import Refused
from tests.conftest import AT, seed


def test_write_read_refuse_in_memory(memory_lg: Ledger) -> None:
    seed(memory_lg)
    note_id = memory_lg.notes.write("C-1", "first text", by="dr-lee", session_date=None, at=AT)
    assert memory_lg.notes.read(note_id, by="dr-lee", purpose="TREAT", version=None,
                                at=AT).text == "first text"
    with pytest.raises(Refused, match="role billing may not read notes for purpose TREAT"):
        memory_lg.notes.read(note_id, by="bill", purpose="TREAT", version=None, at=AT)
