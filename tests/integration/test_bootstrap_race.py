"""Eight bootstraps racing on an empty store: exactly one first admin (issue 12, defect 6)."""

from __future__ import annotations

import threading

import pytest

from ledger.bootstrap import open_ledger
from ledger.errors import BadInput, LedgerError
from ledger.settings import Settings
from tests.conftest import AT

RACERS = 8


def test_exactly_one_first_admin(settings: Settings) -> None:
    ledgers = [open_ledger(settings) for _ in range(RACERS)]
    start = threading.Barrier(RACERS)
    won: list[str] = []
    lost: list[str] = []

    def bootstrap(i: int) -> None:
        start.wait()
        try:
            ledgers[i].staff.add(f"admin-{i}", f"Admin {i}", "admin", by=None, at=AT)
            won.append(f"admin-{i}")
        except LedgerError as e:
            lost.append(str(e))

    threads = [threading.Thread(target=bootstrap, args=(i,)) for i in range(RACERS)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    finally:
        for lg in ledgers:
            lg.close()
    assert len(won) == 1 and len(lost) == RACERS - 1
    assert set(lost) == {"staff already exist: add staff --as an admin"}
    with open_ledger(settings) as lg:
        assert [s.staff_id for s in lg.staff.list_staff()] == won
        with pytest.raises(BadInput, match=r"^staff already exist: add staff --as an admin$"):
            lg.staff.add("late", "Late", "admin", by=None, at=AT)
