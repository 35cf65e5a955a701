"""Free text people type (names, reasons, recipients, matters) is escaped on every text
output, so it can never forge a line or a column, or send a terminal escape sequence
(issue 12, defect 2: access-log did it already; these are the other reports)."""

from __future__ import annotations

from ledger.display import escape
from tests.cli.test_cli_sealed import ok, practice

FORGED = "Evil\n2. 2026-01-01: to Fake\tX\x1b[31m"
SHOWN = escape(FORGED)


def clean(text: str) -> bool:
    return "\x1b" not in text and "\t" + "X" not in text and "\n2. 2026-01-01" not in text


def test_text_reports_escape_what_people_typed(run) -> None:  # type: ignore[no-untyped-def]
    note_id, _ = practice(run)
    assert SHOWN == "Evil\\n2. 2026-01-01: to Fake\\tX\\x1b[31m"
    ok(run("staff", "add", "--id", "ev", "--name", FORGED, "--role", "clinician", "--as",
           "admin"))
    staff = ok(run("staff", "list"))
    assert clean(staff) and f"ev\tclinician\tactive\t{SHOWN}\n" in staff

    ok(run("note", "amend", note_id, "--as", "dr-lee", "--reason", FORGED, input="v2\n"))
    record_set = ok(run("record-set", "C-1", "--as", "comp"))
    assert clean(record_set) and f"by dr-lee (amended: {SHOWN})\n" in record_set
    shown = ok(run("note", "show", note_id, "--as", "dr-lee", "--purpose", "TREAT"))
    assert clean(shown) and f"amendment reason: {SHOWN}\n" in shown

    ok(run("disclose", "--client", "C-1", "--as", "comp", "--to", FORGED, "--recipient-type",
           "coroner", "--purpose", "PUBHLTH", "--note", note_id, "--exception",
           "CORONER_512g1", "--recipient-address", FORGED, "--description", FORGED,
           "--assertion", FORGED))
    letter = ok(run("accounting", "C-1", "--as", "comp"))
    assert clean(letter)
    assert f": to {SHOWN}, {SHOWN}\n   What: {SHOWN}\n" in letter

    ok(run("hold", "place", "--matter", FORGED, "--clients", "C-1", "--as", "comp",
           "--reason", FORGED))
    holds = ok(run("hold", "list", "--as", "comp"))
    assert clean(holds) and len(holds.splitlines()) == 1
    assert f"\tactive\t{SHOWN}\t1 client(s)\t" in holds and holds.endswith(f": {SHOWN}\n")
    explain = ok(run("retention", "explain", "C-1", "--as", "comp"))
    assert clean(explain) and f": {SHOWN}: {SHOWN}\n" in explain

    ok(run("authorize", "grant", "--client", "C-1", "--as", "comp", "--scope",
           "progress-notes", "--recipient", FORGED, "--purpose", "p", "--expiry-event",
           FORGED, "--signed-by", FORGED))
    authorizations = ok(run("authorize", "list", "--client", "C-1", "--as", "comp"))
    assert clean(authorizations) and len(authorizations.splitlines()) == 1
    assert f"\tto {SHOWN}\t" in authorizations
