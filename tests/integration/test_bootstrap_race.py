"""Eight bootstraps racing on an empty store: exactly one first admin (issue 12, defect 6).

Each racer has its own ledger (its own engine and connections), as separate ``ledger staff
add`` processes would, so nothing in this process serialises them: only the store does."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ledger.bootstrap import open_ledger
from ledger.errors import BadInput, LedgerError
from ledger.settings import Settings
from tests.conftest import AT, audit_entries

ROOT = Path(__file__).resolve().parents[2]
RACERS = 8
JOIN_TIMEOUT_S = 120.0
STAFF_EXIST = "staff already exist: add staff --as an admin"


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
            t.join(timeout=JOIN_TIMEOUT_S)
    finally:
        for lg in ledgers:
            lg.close()
    assert len(won) == 1, f"{len(won)} first admins"
    assert lost == [STAFF_EXIST] * (RACERS - 1)
    with open_ledger(settings) as lg:
        assert [s.staff_id for s in lg.staff.list_staff()] == won
        assert lg.main.event_log.size() == 1  # the losers left nothing behind
        assert audit_entries(lg) == []
        assert lg.main.verify().ok
        with pytest.raises(BadInput, match=f"^{STAFF_EXIST}$"):
            lg.staff.add("late", "Late", "admin", by=None, at=AT)


@pytest.mark.slow
def test_exactly_one_first_admin_among_processes(tmp_path: Path) -> None:
    """The same through the command, eight ``ledger staff add`` processes at once on a
    SQLite file: one exits 0, the others exit 1 with the one line, or, when SQLite's lock
    turns a process away under load, 5 ("busy", documented: nothing was saved, retry)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env["LEDGER_DATA_DIR"] = str(tmp_path / "d")

    def ledger(*args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-m", "cli", *args], text=True, env=env,
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    init = ledger("init")
    init.communicate(timeout=JOIN_TIMEOUT_S)
    assert init.returncode == 0
    racers = [ledger("staff", "add", "--id", f"admin-{i}", "--name", f"Admin {i}",
                     "--role", "admin") for i in range(RACERS)]
    outputs = [p.communicate(timeout=JOIN_TIMEOUT_S) for p in racers]
    done = [(p.returncode, out, err) for p, (out, err) in zip(racers, outputs, strict=True)]
    codes = sorted(code for code, _, _ in done)
    assert codes[0] == 0 and set(codes[1:]) <= {1, 5}, done
    assert [err for code, _, err in done if code == 1] == [
        f"error: {STAFF_EXIST}\n"] * codes.count(1)
    assert all(err.startswith("error: ") and err.endswith("nothing was saved, try again\n")
               for code, _, err in done if code == 5), done
    listed = subprocess.run([sys.executable, "-m", "cli", "staff", "list"], text=True, env=env,
                            cwd=ROOT, capture_output=True, timeout=JOIN_TIMEOUT_S, check=True)
    assert len([line for line in listed.stdout.splitlines() if "admin-" in line]) == 1
    verified = subprocess.run([sys.executable, "-m", "cli", "verify"], env=env, cwd=ROOT,
                              capture_output=True, timeout=JOIN_TIMEOUT_S, check=False)
    assert verified.returncode == 0
