"""How each actor reached the ledger is read back with every access record (issue 13): the
service principal an end user acted through, and the OS user of a local command."""

from __future__ import annotations

import pytest

from ledger.agent import Agent, acting_through
from ledger.bootstrap import Ledger
from ledger.errors import Refused
from ledger.queries import Query
from tests.conftest import AT, seed


def test_access_records_carry_the_agent_from_the_read_model_and_from_the_log(
        lg: Ledger) -> None:
    seed(lg, AT)
    note = lg.notes.write("C-1", "text", by="dr-lee", session_date=None, at=AT)
    with acting_through(Agent(via="ehr")):
        lg.notes.read(note, by="dr-lee", purpose="TREAT", at=AT)
    with acting_through(Agent(os_user="ops")), pytest.raises(Refused):
        lg.notes.read(note, by="bill", purpose="TREAT", at=AT)  # refused, recorded
    for from_log in (False, True):
        records = lg.main.access_records(Query(), from_log=from_log)
        assert [(r.actor_id, r.outcome, r.actor_via, r.actor_os_user)
                for r in records if r.action == "access"] == [
            ("dr-lee", "granted", "ehr", None), ("bill", "denied", None, "ops")]
