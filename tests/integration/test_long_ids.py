"""A long or malformed id never breaks the audit (issue 12, defect 2): the services refuse
it before anything is recorded, and a read model meeting one in an old event (written
before ids were validated, or straight through the store API) stores it fitted to its
column instead of failing on every later report. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest
from click.testing import CliRunner, Result

from ledger.bootstrap import Ledger
from ledger.projections.base import fit
from tests.cli.test_cli import setup_practice
from tests.conftest import AT, make_settings, record_unchecked, seed

ID_RULE = "must be 1 to 64 letters, digits and . _ @ -, starting with a letter or digit"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def cli(request: pytest.FixtureRequest, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """The command line on each backend (PostgreSQL through the LEDGER_* variables)."""
    for var in ("LEDGER_URL", "LEDGER_SCHEMA", "LEDGER_PN_URL", "LEDGER_PN_SCHEMA",
                "LEDGER_KEK", "LEDGER_PN_KEK", "LEDGER_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    gen = make_settings(tmp_path, request.param)
    s = next(gen)
    if request.param == "postgres":
        monkeypatch.setenv("LEDGER_URL", s.main.url)
        monkeypatch.setenv("LEDGER_SCHEMA", s.main.schema or "")
        monkeypatch.setenv("LEDGER_PN_URL", s.pn.url)
        monkeypatch.setenv("LEDGER_PN_SCHEMA", s.pn.schema or "")
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:
        from cli.main import ledger

        return runner.invoke(ledger, ["--data-dir", str(s.data_dir), *args], input=input,
                             catch_exceptions=False)

    yield invoke
    next(gen, None)


def test_a_201_character_as_is_one_line_and_the_audit_still_works(cli) -> None:  # type: ignore[no-untyped-def]
    note_id = setup_practice(cli)
    long = "x" * 201
    for args in (("note", "show", note_id, "--purpose", "TREAT"), ("access-log",),
                 ("accounting", "C-1"), ("record-set", "C-1"), ("note", "list", "--client",
                                                                "C-1")):
        r = cli(*args, "--as", long)
        assert (r.exit_code, r.stderr) == (1, f"error: --as {ID_RULE}\n"), args
    log = cli("access-log", "--as", "admin", "--json")
    assert log.exit_code == 0, log.stderr
    assert cli("accounting", "C-1", "--as", "admin").exit_code == 0
    assert cli("record-set", "C-1", "--as", "dr-lee", "--purpose", "TREAT").exit_code == 0
    again = cli("access-log", "--as", "admin", "--json")
    assert again.exit_code == 0 and long not in again.stdout
    assert cli("projections", "check").exit_code == 0


def test_an_old_event_with_an_overlong_actor_does_not_break_the_read_models(lg: Ledger) -> None:
    seed(lg)
    lg.notes.write("C-1", "text", by="dr-lee", session_date=None, at=AT)
    long, nul = "y" * 300, "z\x00" * 150
    record_unchecked(lg.main, long, reason="old data")
    record_unchecked(lg.main, long, action="originate", outcome="granted",
                     object_id=uuid4(), client_id=lg.client_id("C-1"), version=1)
    record_unchecked(lg.pn, nul, object_type="psychotherapy-note")
    records = lg.audit.access_log(by="comp", at=AT)
    # The report shows the event's own value; the read model only indexes it.
    assert [r.actor_id for r in records if r.actor_id in (long, nul)] == [long, long, nul]
    assert lg.audit.accounting("C-1", by="comp", at=AT).lines == ()
    assert lg.main.record_set_projection.catch_up() > 0
    assert all(problem is None for problem in lg.projections.check().values())
    assert lg.projections.rebuild("access-main")[0] > 0
    assert all(problem is None for problem in lg.projections.check().values())


def test_fit() -> None:
    assert fit("dr-lee", 200) == "dr-lee"
    assert fit("a\x00b", 200) == "a\\x00b"
    long = fit("y" * 300, 200)
    assert len(long) == 200 and long.startswith("y" * 183 + "~")
    assert fit("y" * 301, 200) != long
