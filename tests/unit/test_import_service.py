"""The import service on in-memory stores: checks that depend on the ledger, idempotency,
dry runs, refusals, the two times of an imported note, its author, and its audit trail."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from ledger.aggregates.audit import AuditEntry
from ledger.aggregates.progress_note import ProgressNote
from ledger.aggregates.record_dates import RecordDates, record_dates_id
from ledger.bootstrap import Ledger
from ledger.errors import Refused
from ledger.queries import Query
from ledger.rules.import_file import ImportRejected
from ledger.services.import_plan import imported_note_id
from ledger.views import ImportCounts
from tests.conftest import all_events, audit_entries, seed

AT = datetime(2026, 2, 1, 12, tzinfo=UTC)
FIXTURE = Path(__file__).resolve().parents[1] / "data" / "history-2015.jsonl"


def fixture_lines() -> list[bytes]:
    return FIXTURE.read_bytes().splitlines(keepends=True)


def lines(*objects: dict[str, Any]) -> list[bytes]:
    return [json.dumps(o).encode() + b"\n" for o in
            ({"type": "ledger-import", "format": 1}, *objects)]


CLIENT = {"type": "client", "client_ref": "C-1", "name": "Jane Roe", "birth_date": "1990-04-01",
          "state": "CA"}


@pytest.fixture
def lg(memory_lg: Ledger) -> Ledger:
    seed(memory_lg)
    return memory_lg


def test_the_2015_history_is_imported_with_both_times(lg: Ledger) -> None:
    result = lg.history_import.run(fixture_lines(), by="admin", at=AT)
    assert result.added == ImportCounts(clients=1, episodes=2, contacts=2, progress_notes=4,
                                        psychotherapy_notes=1)
    assert result.skipped == ImportCounts()
    notes = lg.notes.list_notes("H-2015", by="dr-lee", at=AT)
    assert sorted((n.author_id, n.session_date, n.original_written_on) for n in notes) == [
        ("dr-kim", "2017-03-06", "2017-03-08"), ("dr-kim", "2017-09-25", "2017-09-25"),
        ("dr-lee", "2015-02-02", "2015-02-03"), ("dr-lee", "2015-11-30", "2015-11-30")]
    assert {n.written_at for n in notes} == {AT}  # the chain time: when the ledger learned it
    client = lg.main.client(lg.client_id("H-2015"), "H-2015")
    assert [(e["start"], e["end"], e["end_kind"], e["jurisdiction"]) for e in client.episodes] == [
        ("2015-02-02", "2015-11-30", "discharge", "NY"),
        ("2017-03-06", "2017-09-25", "termination", "NY")]
    assert client.contacts == ["2015-11-30", "2017-10-02"]
    first = imported_note_id(client.id, "ehr:note/1001")
    dates = lg.main.get(RecordDates, record_dates_id(first), "dates")
    assert (dates.session_date, dates.entered_on) == (date(2015, 2, 2), date(2015, 2, 3))
    (pn,) = lg.psychotherapy.list_notes("H-2015", by="dr-kim", at=AT)
    assert (pn.author_id, pn.original_written_on) == ("dr-kim", "2017-03-06")
    pn_dates = lg.pn.get(RecordDates, record_dates_id(pn.note_id), "dates")
    assert pn_dates.entered_on == date(2017, 3, 6)
    shown = lg.notes.read(first, by="dr-lee", purpose="TREAT", at=AT)
    assert (shown.original_written_on, shown.written_at, shown.author_id) == (
        "2015-02-03", AT, "dr-lee")


def test_a_note_written_here_has_no_original_day(lg: Ledger) -> None:
    note_id = lg.notes.write("C-1", "today's note", by="dr-lee", session_date=None, at=AT)
    assert lg.notes.read(note_id, by="dr-lee", purpose="TREAT", at=AT).original_written_on is None


def test_the_importer_acts_and_the_original_author_keeps_the_authors_rights(lg: Ledger) -> None:
    lg.history_import.run(fixture_lines(), by="admin", at=AT)
    client_id = lg.client_id("H-2015")
    note_id = imported_note_id(client_id, "ehr:note/1001")
    written = [e for e in all_events(lg) if isinstance(e, ProgressNote.Written)]
    assert {(e.actor_id, e.author_id) for e in written} == {("admin", "dr-lee"),
                                                           ("admin", "dr-kim")}
    with pytest.raises(Refused, match="only the note's author or a supervisor may amend it"):
        lg.notes.amend(note_id, "x", "typo", by="dr-kim", at=AT)
    assert lg.notes.amend(note_id, "corrected", "typo", by="dr-lee", at=AT) == 2
    pn_id = imported_note_id(client_id, "ehr:pn/77")
    with pytest.raises(Refused):
        lg.psychotherapy.read(pn_id, by="dr-lee", purpose="TREAT", at=AT)
    assert lg.psychotherapy.read(pn_id, by="dr-kim", purpose="TREAT", at=AT).text.startswith(
        "Process notes")


def test_the_import_is_audited_in_both_stores(lg: Ledger) -> None:
    lg.history_import.run(fixture_lines(), by="admin", at=AT)
    main = [e for e in audit_entries(lg) if e.actor_id == "admin"
            and e.action in ("import", "register", "originate", "amend")
            and e.timestamp == AT]
    assert sorted((e.action, e.object_type) for e in main) == sorted(
        [("import", "history"), ("register", "client"), ("amend", "client-facts")]
        + [("originate", "progress-note")] * 4)
    summary = next(e for e in main if e.action == "import")
    assert summary.reason == ("added 1 clients, 2 episodes, 2 contacts, 4 progress notes; "
                              "skipped as recorded 0 clients, 0 episodes, 0 contacts, 0 "
                              "progress notes")
    assert "psychotherapy" not in summary.reason
    sealed = [e for e in audit_entries(lg.pn) if isinstance(e, AuditEntry.Recorded)]
    assert sorted((e.action, e.object_type, e.reason) for e in sealed) == [
        ("import", "history", "added 1 psychotherapy notes; skipped as recorded 0 "
                                      "psychotherapy notes"),
        ("originate", "psychotherapy-note", "imported; written by dr-kim")]
    records = lg.audit.access_log(by="comp", at=AT, query=Query(staff_id="admin"))
    assert {r.action for r in records} >= {"import", "originate", "register"}


def test_reimporting_adds_nothing(lg: Ledger) -> None:
    lg.history_import.run(fixture_lines(), by="admin", at=AT)
    before = (len(all_events(lg)), len(all_events(lg.pn)))
    again = lg.history_import.run(fixture_lines(), by="admin", at=AT)
    assert again.added == ImportCounts()
    assert again.skipped == ImportCounts(clients=1, episodes=2, contacts=2, progress_notes=4,
                                         psychotherapy_notes=1)
    # Only the two recorded attempts (one per store) were added.
    assert (len(all_events(lg)), len(all_events(lg.pn))) == (before[0] + 1, before[1] + 1)


def test_a_dry_run_writes_only_its_attempt(lg: Ledger) -> None:
    before = (len(all_events(lg)), len(all_events(lg.pn)))
    result = lg.history_import.run(fixture_lines(), by="admin", at=AT, dry_run=True)
    assert result.dry_run and result.added.progress_notes == 4
    assert (len(all_events(lg)), len(all_events(lg.pn))) == (before[0] + 1, before[1] + 1)
    entry = audit_entries(lg)[-1]
    assert (entry.action, entry.reason.startswith("dry run: would add 1 clients")) == (
        "import", True)
    assert not lg.main.client_exists(lg.client_id("H-2015"))


def test_a_refused_import_is_recorded_and_writes_nothing(lg: Ledger) -> None:
    for who in ("dr-lee", "comp", "desk"):
        with pytest.raises(Refused, match=r"^refused: role \S+ may not import history"):
            lg.history_import.run(fixture_lines(), by=who, at=AT)
    refusals = [e for e in audit_entries(lg) if e.action == "import"]
    assert [(e.actor_id, e.outcome) for e in refusals] == [
        ("dr-lee", "denied"), ("comp", "denied"), ("desk", "denied")]
    assert not lg.main.client_exists(lg.client_id("H-2015"))


def test_an_existing_client_with_the_same_facts_is_skipped(lg: Ledger) -> None:
    lg.clients.open_episode("C-1", license="lmft", facility=None, start=date(2020, 1, 1),
                            by="desk", at=AT)
    episode = {"type": "episode", "client_ref": "C-1", "state": "CA", "license": "lmft",
               "start": "2020-01-01", "end": "2021-01-01", "end_kind": "discharge"}
    result = lg.history_import.run(lines(CLIENT, episode), by="admin", at=AT)
    assert (result.added.clients, result.skipped.clients, result.added.episodes) == (0, 1, 0)
    client = lg.main.client(lg.client_id("C-1"), "C-1")
    assert client.episodes[-1]["end"] == "2021-01-01"  # the open episode was closed


@pytest.mark.parametrize(("change", "match"), [
    ({"name": "Jane Doe"}, r"^line 2: name differs from the client already recorded"),
    ({"birth_date": "1990-04-02", "state": "NY"},
     r"^line 2: birth_date and state differ from the client already recorded"),
])
def test_an_existing_client_with_other_facts_is_a_bad_line(lg: Ledger, change: dict[str, str],
                                                           match: str) -> None:
    with pytest.raises(ImportRejected, match=match) as caught:
        lg.history_import.run(lines(CLIENT | change), by="admin", at=AT)
    assert "Jane" not in str(caught.value)


def test_ledger_dependent_errors_are_all_named_and_nothing_is_written(lg: Ledger) -> None:
    lg.clients.open_episode("C-1", license="lmft", facility=None, start=date(2020, 1, 1),
                            by="desk", at=AT)
    new = {"type": "client", "client_ref": "N-1", "name": "New", "birth_date": "2000-01-01",
           "state": "TX"}
    note = {"type": "progress-note", "client_ref": "N-1", "source_id": "1",
            "author_id": "dr-gone", "written_on": "2020-01-01", "text": "t"}
    episode = {"type": "episode", "client_ref": "C-1", "state": "CA", "license": "lcsw",
               "start": "2021-01-01"}
    with pytest.raises(ImportRejected, match=(
            r"^line 3: author_id names no staff member .*; line 5: the client has an episode "
            r"of care open in the ledger; .*; 2 bad lines in the file; nothing was imported$")):
        lg.history_import.run(lines(new, note, CLIENT, episode), by="admin", at=AT)
    assert not lg.main.client_exists(lg.client_id("N-1"))


def test_a_source_id_imported_as_the_other_kind_is_a_bad_line(lg: Ledger) -> None:
    note = {"type": "progress-note", "client_ref": "C-1", "source_id": "s1",
            "author_id": "dr-lee", "written_on": "2020-01-01", "text": "t"}
    lg.history_import.run(lines(CLIENT, note), by="admin", at=AT)
    with pytest.raises(ImportRejected, match=r"^line 3: source_id was imported before as a "
                                             r"note of the other kind"):
        lg.history_import.run(lines(CLIENT, note | {"type": "psychotherapy-note"}), by="admin",
                              at=AT)


def test_an_episode_recorded_with_another_end_is_a_bad_line(lg: Ledger) -> None:
    episode = {"type": "episode", "client_ref": "C-1", "state": "CA", "license": "lmft",
               "start": "2020-01-01", "end": "2021-01-01", "end_kind": "discharge"}
    lg.history_import.run(lines(CLIENT, episode), by="admin", at=AT)
    with pytest.raises(ImportRejected, match=r"^line 3: the episode is recorded with another "
                                             r"end"):
        lg.history_import.run(lines(CLIENT, episode | {"end_kind": "termination"}),
                              by="admin", at=AT)


def test_groups_of_clients_per_commit_import_the_same(lg: Ledger) -> None:
    clients = [CLIENT | {"client_ref": f"G-{i}"} for i in range(5)]
    notes = [{"type": "psychotherapy-note", "client_ref": f"G-{i}", "source_id": "n",
              "author_id": "dr-lee", "written_on": "2020-01-01", "text": f"t{i}"}
             for i in range(5)]
    result = lg.history_import.run(lines(*clients, *notes), by="admin", at=AT,
                                   clients_per_commit=2)
    assert (result.added.clients, result.added.psychotherapy_notes) == (5, 5)
    assert len(lg.pn.notes()) == 5


def test_an_import_stopped_part_way_says_what_it_kept(lg: Ledger,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A clinician changes a client of the file while the import writes the clients before
    it: the import stops, keeps what it wrote, records the attempt as stopped, and never
    says "nothing was imported"."""
    from ledger.services import importing

    lg.clients.register("C-2", "Bob Roe", date(1980, 1, 1), "CA", by="admin", at=AT)
    episode = {"state": "CA", "license": "psychologist", "start": "2015-01-01",
               "end": "2016-01-01", "end_kind": "discharge"}
    file = lines(
        {"type": "client", "client_ref": "C-1", "name": "Jane Roe",
         "birth_date": "1990-04-01", "state": "CA"},
        {"type": "episode", "client_ref": "C-1"} | episode,
        {"type": "client", "client_ref": "C-2", "name": "Bob Roe",
         "birth_date": "1980-01-01", "state": "CA"},
        {"type": "episode", "client_ref": "C-2"} | episode)
    real = importing._main_records
    raced: list[bool] = []

    def racing(p: Any, at: datetime) -> Any:
        if p.history.client_ref == "C-2" and not raced:
            raced.append(True)  # meanwhile, an episode is opened for C-2
            lg.clients.open_episode("C-2", license="lpc", facility=None,
                                    start=date(2020, 1, 1), by="admin", at=AT)
        return real(p, at)

    monkeypatch.setattr(importing, "_main_records", racing)
    with pytest.raises(importing.ImportStopped,
                       match=r"^stopped after 1 of 2 clients were written \(line 5: .*\); "
                             r"what was written is kept: run the import again to add the "
                             r"rest$") as stopped:
        lg.history_import.run(file, by="admin", at=AT)
    assert "nothing was imported" not in str(stopped.value)
    assert lg.main.client_exists(lg.client_id("C-1"))
    last = audit_entries(lg.main)[-1]
    assert (last.action, last.outcome, last.reason) == (
        "import", "granted", "stopped after 1 of 2 clients were written")
