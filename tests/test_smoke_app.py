from __future__ import annotations

import pytest

from ledger.errors import Refused
from ledger.stores.main import MainLedger
from tests.conftest import AT, seed


def test_write_read_refuse_in_memory(memory_app: MainLedger) -> None:
    seed(memory_app)
    note_id = memory_app.write_note("C-1", "first text", by="dr-lee", session_date=None, at=AT)
    assert memory_app.read_note(note_id, by="dr-lee", purpose="TREAT", version=None,
                                at=AT).text == "first text"
    with pytest.raises(Refused, match="role billing may not read notes for purpose TREAT"):
        memory_app.read_note(note_id, by="bill", purpose="TREAT", version=None, at=AT)


def test_write_read_on_durable_backends(app: MainLedger) -> None:
    seed(app)
    note_id = app.write_note("C-1", "durable text", by="dr-lee", session_date=None, at=AT)
    assert app.read_note(note_id, by="dr-lee", purpose="TREAT", version=1, at=AT).text == (
        "durable text")
