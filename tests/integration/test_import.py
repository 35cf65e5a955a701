"""The import's writing path on SQLite and PostgreSQL, the sealed store kept apart in the
main store's files, and a real ``ledger import`` SIGKILLed mid-way and run again."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ledger.aggregates.audit import AuditEntry
from ledger.aggregates.client import Client
from ledger.aggregates.progress_note import ProgressNote
from ledger.aggregates.psychotherapy_note import PsychotherapyNote
from ledger.aggregates.record_dates import RecordDates
from ledger.bootstrap import Ledger, initialise, open_ledger
from ledger.services.import_plan import imported_note_id
from ledger.settings import load_settings
from ledger.views import ImportCounts
from tests.conftest import all_events, seed
from tests.integration.test_at_rest import marker, scan

ROOT = Path(__file__).resolve().parents[2]
AT = datetime(2026, 2, 1, 12, tzinfo=UTC)
FIXTURE = ROOT / "tests" / "data" / "history-2015.jsonl"


def history(clients: int, *, pn_text: str = "process notes") -> list[bytes]:
    """``clients`` clients, each with an episode, a contact, a progress note and a
    psychotherapy note."""
    rows: list[dict[str, object]] = [{"type": "ledger-import", "format": 1}]
    for i in range(clients):
        ref = f"K-{i}"
        rows += [
            {"type": "client", "client_ref": ref, "name": f"Name {i}",
             "birth_date": "1980-01-01", "state": "NY"},
            {"type": "episode", "client_ref": ref, "state": "NY", "license": "lcsw",
             "start": "2015-01-05", "end": "2015-06-01", "end_kind": "discharge"},
            {"type": "contact", "client_ref": ref, "date": "2015-06-01"},
            {"type": "progress-note", "client_ref": ref, "source_id": f"p{i}",
             "author_id": "dr-lee", "session_date": "2015-01-05", "written_on": "2015-01-06",
             "text": f"progress {i}"},
            {"type": "psychotherapy-note", "client_ref": ref, "source_id": f"s{i}",
             "author_id": "dr-lee", "session_date": "2015-01-05", "written_on": "2015-01-05",
             "text": f"{pn_text} {i}"}]
    return [json.dumps(r).encode() + b"\n" for r in rows]


def written(lg: Ledger) -> tuple[Counter[object], Counter[object], Counter[object]]:
    """How many times each client, progress note and psychotherapy note was created."""
    main = all_events(lg)
    return (Counter(e.originator_id for e in main if isinstance(e, Client.Registered)),
            Counter(e.originator_id for e in main if isinstance(e, ProgressNote.Written)),
            Counter(e.originator_id for e in all_events(lg.pn)
                    if isinstance(e, PsychotherapyNote.Written)))


def test_import_and_reimport_on_each_backend(lg: Ledger) -> None:
    seed(lg)
    lines = FIXTURE.read_bytes().splitlines(keepends=True) + history(3)[1:]
    first = lg.history_import.run(lines, by="admin", at=AT, clients_per_commit=2)
    assert first.added == ImportCounts(clients=4, episodes=5, contacts=5, progress_notes=7,
                                       psychotherapy_notes=4)
    again = lg.history_import.run(lines, by="admin", at=AT)
    assert again.added == ImportCounts() and again.skipped == first.added
    clients, notes, sealed = written(lg)
    assert (len(clients), len(notes), len(sealed)) == (5, 7, 4)  # the seed's client too
    assert set(clients.values()) == set(notes.values()) == set(sealed.values()) == {1}
    assert lg.main.verify().ok and lg.pn.verify().ok
    note = lg.main.note(imported_note_id(lg.client_id("K-2"), "p2"))
    assert (note.author_id, note.written_on, note.versions[0].written_at) == (
        "dr-lee", "2015-01-06", AT)


def test_psychotherapy_notes_leave_no_trace_in_the_main_store(tmp_path: Path) -> None:
    gen_root = tmp_path / "data"
    settings = load_settings(str(gen_root), environ={})
    initialise(settings, AT)
    text = marker("pn-text")
    with open_ledger(settings) as lg:
        seed(lg)
        lg.history_import.run(history(3, pn_text=text), by="admin", at=AT)
        pn_ids = [imported_note_id(lg.client_id(f"K-{i}"), f"s{i}") for i in range(3)]
        progress_id = imported_note_id(lg.client_id("K-0"), "p0")
        main = all_events(lg)
        assert not any(isinstance(e, PsychotherapyNote.Written) for e in main)
        assert not any(isinstance(e, RecordDates.Recorded) and e.note_id in pn_ids for e in main)
        entries = [e for e in main if isinstance(e, AuditEntry.Recorded)]
        assert all(e.object_type != "psychotherapy-note" for e in entries)
        assert all("psychotherapy" not in (e.reason or "") for e in entries)
        assert len(lg.pn.notes()) == 3
        needles = {f"pn id {n}": form for n, i in enumerate(pn_ids)
                   for form in (i.bytes, str(i).encode(), i.hex.encode())}
        needles |= {"pn text": text.encode()}
        control = {"progress id": progress_id.bytes}
        main_files = tmp_path / "main-only"
        main_files.mkdir()
        for f in gen_root.glob("main.sqlite*"):  # the database, its WAL and shm
            (main_files / f.name).write_bytes(f.read_bytes())
        assert "progress id" in scan(main_files, control)  # the scan finds ids stored there
        assert scan(main_files, needles) == {}


def _cli_env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env["LEDGER_DATA_DIR"] = str(data)
    return env


def _sealed_events(data: Path) -> int:
    try:
        with sqlite3.connect(f"file:{data / 'psychotherapy.sqlite'}?mode=ro", uri=True,
                             timeout=5) as conn:
            return int(conn.execute("SELECT count(*) FROM psychotherapy_events").fetchone()[0])
    except sqlite3.OperationalError:
        return 0  # not made yet


def test_a_killed_import_rerun_writes_each_client_and_note_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    settings = load_settings(str(data), environ={})
    initialise(settings, AT)
    with open_ledger(settings) as lg:
        lg.staff.add("admin", "Ada", "admin", by=None, at=AT)
        lg.staff.add("dr-lee", "Lee", "clinician", by="admin", at=AT)
    clients = 600
    file = tmp_path / "history.jsonl"
    file.write_bytes(b"".join(history(clients)))
    command = [sys.executable, "-m", "cli", "import", str(file), "--as", "admin"]
    process = subprocess.Popen(command, cwd=ROOT, env=_cli_env(data),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    # Each client's psychotherapy note is written after its main-store records: wait until
    # some clients have landed in both stores, then kill the import mid-way.
    while _sealed_events(data) < 60 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert process.poll() is None, "the import ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    with open_ledger(settings) as lg:
        landed = written(lg)
        assert 0 < len(landed[2]) < clients
    rerun = subprocess.run(command, cwd=ROOT, env=_cli_env(data), capture_output=True,
                           text=True, timeout=600, check=False)
    assert rerun.returncode == 0, rerun.stderr
    added = int(rerun.stdout.split("psychotherapy notes")[0].rsplit(", ", 1)[1].split()[0])
    assert added == clients - len(landed[2])
    with open_ledger(settings) as lg:
        registered, notes, sealed = written(lg)
        assert len(registered) == len(notes) == len(sealed) == clients
        assert set(registered.values()) == set(notes.values()) == set(sealed.values()) == {1}
        assert all(len(c.episodes) == 1 and c.contacts == ["2015-06-01"] for c in
                   (lg.main.client(lg.client_id(f"K-{i}"), "") for i in range(clients)))
        assert lg.main.verify().ok and lg.pn.verify().ok
    again = subprocess.run(command, cwd=ROOT, env=_cli_env(data), capture_output=True,
                           text=True, timeout=600, check=False)
    assert again.stdout.startswith("added: 0 clients, 0 episodes, 0 contacts, 0 progress "
                                   "notes, 0 psychotherapy notes\n"), again.stderr


@pytest.mark.parametrize("dry", [True, False])
def test_a_real_subprocess_import(tmp_path: Path, dry: bool) -> None:
    data = tmp_path / "data"
    settings = load_settings(str(data), environ={})
    initialise(settings, AT)
    with open_ledger(settings) as lg:
        seed(lg)
    args = ["--dry-run"] if dry else []
    done = subprocess.run([sys.executable, "-m", "cli", "import", str(FIXTURE), "--as",
                           "admin", "--json", *args], cwd=ROOT, env=_cli_env(data),
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["added"]["psychotherapy_notes"] == 1
    with open_ledger(settings) as lg:
        assert lg.main.client_exists(lg.client_id("H-2015")) is not dry


def test_client_keys_made_together_fall_back_one_by_one_when_another_writer_won(
        lg: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    ring = lg.main.keyring
    first = ring.ensure_key("subject:raced", AT)
    real = ring.key_id_for
    seen: set[str] = set()

    def stale(subject: str) -> object:  # the first look misses the key another writer made
        if subject == "subject:raced" and subject not in seen:
            seen.add(subject)
            return None
        return real(subject)

    monkeypatch.setattr(ring, "key_id_for", stale)
    ring.ensure_keys(["subject:raced", "subject:new"], AT)
    monkeypatch.undo()
    assert ring.key_id_for("subject:raced") == first
    made = ring.key_id_for("subject:new")
    assert made is not None and made != first
    ring.ensure_keys(["subject:new"], AT)  # nothing to make
    assert ring.key_id_for("subject:new") == made
