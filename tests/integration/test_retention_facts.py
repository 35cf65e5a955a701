"""The retention-facts read models: the plan they give is the plan the primary log gives,
it decrypts no note, and a purge trusts only the log (an insider's edit destroys nobody
early and fails the run)."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.utils import get_topic
from sqlalchemy import delete, func, select, text, update

from ledger.aggregates.audit import AuditEntry
from ledger.aggregates.base import Actor, acting_as
from ledger.aggregates.client import Client
from ledger.aggregates.progress_note import ProgressNote
from ledger.aggregates.psychotherapy_note import PsychotherapyNote
from ledger.aggregates.record_dates import RecordDates, record_dates_id
from ledger.bootstrap import Ledger, open_ledger
from ledger.errors import IntegrityFailure
from ledger.persistence.mapper import SealingMapper
from ledger.settings import load_settings
from tests.cli.test_cli_sealed import ok, practice
from tests.conftest import seed

DISAGREES = (r"the retention read model disagrees with the log; run ledger projections "
             r"check$")


def on(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T12:00:00+00:00")


def register(lg: Ledger, ref: str, dob: str, state: str, at: datetime) -> None:
    lg.clients.register(ref, f"Client {ref}", date.fromisoformat(dob), state, by="desk", at=at)


def episode(lg: Ledger, ref: str, license: str, start: str, end: str | None, *,
            state: str | None = None, facility: str | None = None) -> None:
    lg.clients.open_episode(ref, license=license, facility=facility,
                            start=date.fromisoformat(start), by="desk", at=on(start),
                            state=state)
    if end is not None:
        lg.clients.close_episode(ref, end=date.fromisoformat(end), kind="discharge",
                                 by="desk", at=on(end))


def note(lg: Ledger, ref: str, written: str, session: str | None = None) -> Any:
    return lg.notes.write(ref, "note", by="dr-lee", at=on(written),
                          session_date=date.fromisoformat(session) if session else None)


def legacy_note(lg: Ledger, ref: str, written: str, *, sealed: bool = False,
                session: date | None = None) -> UUID | None:
    """A note as the ledger wrote it before dates were recorded apart: the note and its
    audit entry, no dates."""
    at = on(written)
    client_id = lg.client_id(ref)
    with acting_as(Actor("dr-lee", "clinician")):
        if sealed:
            pn = PsychotherapyNote.write(client_id, "process", None, at)
            entry = AuditEntry.record(action="originate", outcome="granted",
                                      object_type="psychotherapy-note", object_id=pn.id,
                                      client_id=client_id, version=1, at=at)
            lg.pn.save(pn, entry)
            return pn.id
        client = lg.main.get(Client, client_id, "client")
        written_note = ProgressNote.write(client_id, "old note", session, at)
        client.attach_note(written_note.id, at)
        entry = AuditEntry.record(action="originate", outcome="granted",
                                  object_type="progress-note", object_id=written_note.id,
                                  client_id=client_id, version=1, at=at)
        lg.main.save(written_note, client, entry)
        return written_note.id


def rows_of(lg: Ledger, ref: str) -> list[Any]:
    """Every row of the main store's retention read model about the client."""
    lg.main.retention_projection.catch_up()
    table = lg.main.retention_projection.table
    with lg.main.event_log.engine.connect() as conn:
        return list(conn.execute(select(table).where(
            table.c.client_id == str(lg.client_id(ref))).order_by(table.c.position)))


def mixed_practice(lg: Ledger) -> None:
    """Episodes in several states and states of care, session dates, amendments, legacy
    notes in both stores, a hold, a precondition, and (at 2009-01-01) a destroyed client."""
    t0 = on("2000-01-03")
    seed(lg, t0)  # C-1: no episode, no date
    register(lg, "D-ca", "1960-01-01", "CA", t0)
    episode(lg, "D-ca", "psychologist", "2000-01-03", "2001-01-01")
    note(lg, "D-ca", "2000-02-01", "2000-02-01")
    register(lg, "T-two", "1995-03-03", "WA", t0)
    episode(lg, "T-two", "psychologist", "2000-02-01", "2003-01-01")
    episode(lg, "T-two", "psychologist", "2008-01-01", None, state="PA")
    first = note(lg, "T-two", "2000-03-01", "2000-02-20")
    note(lg, "T-two", "2008-02-01", "2008-01-15")
    lg.notes.amend(first, "more", "detail", by="dr-lee", at=on("2002-05-05"))
    lg.psychotherapy.write("T-two", "process", by="dr-lee",
                           session_date=date(2008, 1, 20), at=on("2008-01-21"))
    register(lg, "N-ny", "1970-05-05", "NY", t0)
    episode(lg, "N-ny", "lcsw", "2000-01-03", "2004-06-01")
    note(lg, "N-ny", "2000-02-02", "2000-02-01")
    legacy_note(lg, "N-ny", "2003-03-01")
    legacy_note(lg, "N-ny", "2003-04-01", sealed=True)
    lg.clients.record_contact("N-ny", on=date(2004, 7, 1), by="desk", at=on("2004-07-01"))
    register(lg, "H-held", "1960-01-01", "CA", t0)
    episode(lg, "H-held", "psychologist", "2000-01-03", "2001-01-01")
    lg.retention.place_hold(["H-held"], matter="Roe v. Clinic", reason="litigation",
                            by="comp", at=on("2005-01-01"))
    register(lg, "P-nj", "1960-01-01", "NJ", t0)
    episode(lg, "P-nj", "lcsw", "2000-01-03", "2000-06-01", facility="cmh-program")


def test_the_read_models_plan_what_the_log_plans(lg: Ledger) -> None:
    mixed_practice(lg)
    desk = lg.retention
    before = desk.plan(by="comp", at=on("2009-01-01"))
    assert {s.client_ref: s.status for s in before} == {
        "D-ca": "due", "H-held": "held", "P-nj": "blocked", "T-two": "no date",
        "N-ny": "retained", "C-1": "no date"}
    assert next(s.why for s in before if s.client_ref == "T-two") == \
        "an episode of care is still open"
    assert before == desk.plan(by="comp", at=on("2009-01-01"), from_log=True)
    assert [s.client_ref for s in desk.run(by="comp", at=on("2009-01-01"))] == [None]
    # The destroyed client's dates left the read model with its key.
    rows = rows_of(lg, "D-ca")
    assert {r.kind for r in rows} >= {"registered", "episode-opened", "receipt"}
    assert all(r.day is None and r.state is None for r in rows
               if r.kind in ("registered", "episode-opened", "episode-closed"))
    assert [r.day for r in rows if r.kind == "legacy-version"] == [date(2000, 2, 1)]
    lg.retention.record_precondition("P-nj", rule_id="NJ-cmh-program",
                                     kind="keep-destruction-list", done_on=date(2009, 2, 1),
                                     note="list 9", by="comp", at=on("2009-02-01"))
    for day in ("2009-01-02", "2012-01-01", "2030-01-01", "2060-01-01"):
        planned = desk.plan(by="comp", at=on(day))
        assert planned == desk.plan(by="comp", at=on(day), from_log=True), day
    gone = next(s for s in planned if s.status == "destroyed")
    assert gone.client_id == lg.client_id("D-ca") and gone.client_ref is None
    # The facts as they happened: the legacy notes count from the day they were written.
    ny = desk.explain("N-ny", by="comp", at=on("2009-01-01"))
    assert ny.explanation is not None and ny.facts is not None
    assert ny.explanation.destroy_on == date(2010, 7, 1)  # last contact 2004-07-01 + 6 y
    assert sorted(r.entered for r in ny.facts.records) == [
        date(2000, 2, 2), date(2003, 3, 1), date(2003, 4, 1)]
    # A replay after the purge cannot read the destroyed client's facts, yet agrees with
    # the rows applied before it, and so does a rebuild.
    assert lg.projections.check()["retention-main"] is None
    for name in ("retention-main", "retention-pn"):
        lg.projections.rebuild(name)
    assert lg.projections.check()["retention-main"] is None
    assert lg.projections.check()["retention-pn"] is None
    assert desk.plan(by="comp", at=on("2060-01-01")) == planned


def test_the_plan_never_decrypts_a_note(memory_lg: Ledger,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    mixed_practice(memory_lg)
    decode = SealingMapper.to_domain_event

    def no_notes(self: SealingMapper, stored: Any) -> Any:
        if stored.topic.startswith(("ledger.aggregates.progress_note:",
                                    "ledger.aggregates.psychotherapy_note:")):
            raise AssertionError(f"a note was decrypted: {stored.topic}")
        return decode(self, stored)

    monkeypatch.setattr(SealingMapper, "to_domain_event", no_notes)
    assert memory_lg.main.retention_projection.behind() > 0  # the plan catches up itself
    plan = memory_lg.retention.plan(by="comp", at=on("2030-01-01"))
    assert len(plan) == 6
    memory_lg.retention.explain("N-ny", by="comp", at=on("2030-01-01"))
    with pytest.raises(AssertionError, match="a note was decrypted"):  # the test can fail
        memory_lg.retention.plan(by="comp", at=on("2030-01-01"), from_log=True)


def test_catch_up_is_incremental(memory_lg: Ledger) -> None:
    mixed_practice(memory_lg)
    projection = memory_lg.main.retention_projection
    memory_lg.retention.plan(by="comp", at=on("2030-01-01"))
    assert projection.behind() == 1  # the plan's own record of the reading
    assert projection.catch_up() == 1
    position = projection.position()
    note(memory_lg, "T-two", "2009-03-01", "2009-02-27")
    # The note's dates and its audit entry; the note and its attachment are not read.
    assert projection.catch_up() == 2
    assert projection.position() > position
    rows = rows_of(memory_lg, "T-two")
    assert [(r.kind, r.day, r.entered) for r in rows if r.position > position] == [
        ("note-dates", date(2009, 2, 27), date(2009, 3, 1)),
        ("legacy-version", date(2009, 3, 1), None)]


def _late_entry(lg: Ledger) -> tuple[int, int]:
    """N-late: NY, seen in 2000; a note entered in 2010 keeps the client until 2016.
    Returns the positions of the note's dates row and its version row."""
    seed(lg, on("2000-01-03"))
    register(lg, "N-late", "1970-05-05", "NY", on("2000-01-03"))
    episode(lg, "N-late", "lcsw", "2000-01-03", "2000-06-01")
    note(lg, "N-late", "2000-02-02", "2000-02-01")
    late = note(lg, "N-late", "2010-03-01")
    projection = lg.main.retention_projection
    projection.catch_up()
    rows = [r for r in rows_of(lg, "N-late") if r.item_id == str(late)]
    assert [r.kind for r in rows] == ["note-dates", "legacy-version"]
    return rows[0].position, rows[1].position


def test_an_insider_who_drops_a_late_entry_destroys_nobody_early(lg: Ledger) -> None:
    dates_at, version_at = _late_entry(lg)
    register(lg, "D-due", "1960-01-01", "CA", on("2000-01-03"))
    episode(lg, "D-due", "psychologist", "2000-01-03", "2001-01-01")
    projection = lg.main.retention_projection
    with lg.main.event_log.engine.begin() as conn:
        conn.execute(delete(projection.table).where(
            projection.table.c.position.in_([dates_at, version_at])))
    desk = lg.retention
    n_late = lg.client_id("N-late")
    statuses = {s.client_ref: s.status for s in desk.plan(by="comp", at=on("2012-01-01"))}
    assert statuses["N-late"] == "due"  # what the altered read model says
    assert {s.client_ref: s.status
            for s in desk.plan(by="comp", at=on("2012-01-01"), from_log=True)}["N-late"] \
        == "retained"
    with pytest.raises(IntegrityFailure, match=rf"^client {n_late}: {DISAGREES}"):
        desk.run(by="comp", at=on("2012-01-01"))
    assert not lg.main.is_shredded(n_late) and not lg.pn.is_shredded(n_late)
    assert lg.main.is_shredded(lg.client_id("D-due"))  # the others were finished
    assert lg.projections.check()["retention-main"] == (
        f"read model retention-main disagrees with the log at position {dates_at}: a row the "
        "log makes is missing (deleted)")
    lg.projections.rebuild("retention-main")
    assert [s.client_id for s in desk.run(by="comp", at=on("2012-01-01"))] == []
    assert [s.client_id for s in desk.run(by="comp", at=on("2016-03-02"))] == [n_late]


def test_an_altered_row_fails_the_cli_run_with_the_integrity_code(run) -> None:  # type: ignore[no-untyped-def]
    practice(run)
    for args in (("client", "add", "--id", "N-2", "--name", "N", "--dob", "1970-05-05",
                  "--state", "ny", "--as", "desk"),
                 ("client", "episode", "open", "N-2", "--as", "desk", "--license", "lcsw",
                  "--start", "2000-01-03"),
                 ("client", "episode", "close", "N-2", "--as", "desk", "--end", "2000-06-01",
                  "--kind", "discharge"),
                 ("note", "write", "--client", "N-2", "--as", "dr-lee")):
        ok(run(*args, input="entered today\n"))
    plan = ok(run("retention", "plan", "--as", "comp"))
    assert "\tN-2\tretained\tkept until 20" in plan
    settings = load_settings(str(run.tmp_path / "data"), environ={})
    with open_ledger(settings) as lg:
        table = lg.main.retention_projection.table
        with lg.main.event_log.engine.begin() as conn:  # the entry day, moved back
            conn.execute(update(table).where(table.c.kind.in_(("note-dates",
                                                               "legacy-version")))
                         .values(day=date(2000, 2, 1), entered=date(2000, 2, 1)))
    assert "\tN-2\tdue\t" in ok(run("retention", "plan", "--as", "comp"))
    assert "\tN-2\tretained\t" in ok(run("retention", "plan", "--as", "comp", "--from-log"))
    failed = run("retention", "run", "--as", "comp")
    assert failed.exit_code == 3
    assert failed.stderr.startswith("error: client ")
    assert failed.stderr.endswith(": the retention read model disagrees with the log; run "
                                  "ledger projections check\n")
    checked = run("projections", "check", "--json")
    assert checked.exit_code == 3
    difference = json.loads(checked.stdout)["retention-main"]["difference"]
    assert difference.startswith("read model retention-main disagrees with the log at "
                                 "position ")
    assert difference.endswith(": column day was changed")
    assert "was destroyed" not in run("note", "list", "--client", "N-2", "--as",
                                      "dr-lee").stderr


@pytest.mark.parametrize("kind", ["registered", "episode-opened", "contact"])
def test_a_deleted_row_of_a_clients_own_facts_stops_plan_and_run(lg: Ledger,
                                                                 kind: str) -> None:
    """An insider deletes a client's registration (the client vanishes from the plan and
    the purge) or an episode or contact (its dates change): the client's own events no
    longer number what the log holds, and plan and run fail naming it."""
    seed(lg, on("2000-01-03"))
    register(lg, "C-cap", "1960-01-01", "CO", on("2000-01-03"))
    episode(lg, "C-cap", "lpc", "2000-01-03", "2001-01-01")
    lg.clients.record_contact("C-cap", on=date(2000, 6, 1), by="desk", at=on("2001-02-01"))
    desk = lg.retention
    assert {s.client_ref: s.status
            for s in desk.plan(by="comp", at=on("2020-01-01"))}["C-cap"] == "due"
    table = lg.main.retention_projection.table
    victim = lg.client_id("C-cap")
    with lg.main.event_log.engine.begin() as conn:
        conn.execute(delete(table).where(table.c.kind == kind,
                                         table.c.client_id == str(victim)))
    for act in (lambda: desk.plan(by="comp", at=on("2020-01-01")),
                lambda: desk.run(by="comp", at=on("2020-01-01")),
                lambda: desk.explain("C-cap", by="comp", at=on("2020-01-01"))):
        with pytest.raises(IntegrityFailure, match=rf"^client {victim}: {DISAGREES}$"):
            act()
    assert not lg.main.is_shredded(victim)


@pytest.mark.parametrize(("kind", "values"), [
    ("episode-opened", {"day": "2011-13-45"}),  # no such day
    ("hold-placed", {"item_id": "zzz"}),  # no such hold id
    ("receipt", {}),  # a receipt row forged for a live client, at its registration
])
def test_a_row_that_cannot_be_what_was_written_is_an_integrity_failure(
        lg: Ledger, kind: str, values: dict[str, object]) -> None:
    seed(lg, on("2000-01-03"))
    register(lg, "C-1x", "1960-01-01", "CA", on("2000-01-03"))
    episode(lg, "C-1x", "psychologist", "2000-01-03", "2001-01-01")
    lg.retention.place_hold(["C-1x"], matter=None, reason="r", by="comp", at=on("2001-02-01"))
    table = lg.main.retention_projection.table
    lg.main.retention_projection.catch_up()
    with lg.main.event_log.engine.begin() as conn:
        if kind == "receipt":  # at the position of an audit entry: no receipt is there
            events = lg.main.event_log.events
            entry = conn.execute(select(func.max(events.c.id)).where(
                events.c.topic == get_topic(AuditEntry.Recorded))).scalar_one()
            conn.execute(table.insert().values(
                position=entry, kind="receipt", client_id=str(lg.client_id("C-1x")),
                rule_id="CA-psychologist", day=date(2001, 1, 1)))
        elif kind == "episode-opened" and conn.dialect.name != "sqlite":
            pytest.skip("PostgreSQL's date column cannot hold a day that is no day")
        else:
            conn.execute(text(f"UPDATE {table.fullname} SET "
                              + ", ".join(f"{k} = :{k}" for k in values)
                              + " WHERE kind = :kind"), {**values, "kind": kind})
    disagrees = DISAGREES.removesuffix("$")
    with pytest.raises(IntegrityFailure, match=disagrees):
        lg.retention.plan(by="comp", at=on("2020-01-01"))
    with pytest.raises(IntegrityFailure, match=disagrees):
        lg.retention.run(by="comp", at=on("2020-01-01"))
    found = lg.projections.check()["retention-main"]
    assert found is not None and found.startswith(
        "read model retention-main disagrees with the log")
    if kind == "episode-opened":  # the check itself names it, rather than failing
        assert found.endswith("a stored value cannot be read as its column's type "
                              "('month must be in 1..12')")


def test_an_old_note_gets_its_dates_when_first_amended(memory_lg: Ledger) -> None:
    """A note written before dates were recorded apart gets them from its own versions when
    first amended; a session day in the future (accepted then) counts as none."""
    lg = memory_lg
    seed(lg, on("2010-01-04"))
    register(lg, "O-1", "1970-01-01", "CA", on("2010-01-04"))
    kept = legacy_note(lg, "O-1", "2010-02-01", session=date(2010, 1, 29))
    odd = legacy_note(lg, "O-1", "2010-02-02", session=date(2031, 1, 1))
    assert kept is not None and odd is not None
    for note_id in (kept, odd):
        lg.notes.amend(note_id, "corrected", "typo", by="dr-lee", at=on("2012-05-06"))
    dates = [lg.main.get(RecordDates, record_dates_id(n), "dates") for n in (kept, odd)]
    assert [(d.session_date, d.entries) for d in dates] == [
        (date(2010, 1, 29), [date(2010, 2, 1), date(2012, 5, 6)]),
        (None, [date(2010, 2, 2), date(2012, 5, 6)])]
