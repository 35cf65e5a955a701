"""The bad-input suite (issue 12): every command and every parameter, found by walking the
click command tree (a new command or option is covered without editing this file), is
run with each class of bad input. Every run must

- end with a documented exit code (0 to 5), without a traceback and without "unexpected";
- write exactly one line on stderr when it fails (at most one when it succeeds, a
  progress label, or finds damage, exit 3, whose report is on stdout);
- leave both stores as they were, event counts and chain heads compared before and after,
  except for what is recorded by design: a refusal (exit 4) or an attempt on something
  that does not exist (exit 1, "not found", "has no version") adds one audit or
  disclosure event to a store, no other; an input that was accepted (exit 0) may write;
  and `ledger verify` passes after each command's runs.

Each (command, parameter) gets every general class and every class meant for its kind
(dates, files and directories, ids): about 2,700 runs through click's CliRunner, in this
process, on one practice set up once (half a minute); a few real processes carry invalid
UTF-8 bytes in their arguments and on stdin.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from cli.main import ledger
from tests.cli.test_cli import ROOT

EXIT_CODES = {0, 1, 2, 3, 4, 5}
HUGE = "x" * 100_000


# ----- the input classes -------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    name: str
    value: str


GENERAL = (
    Case("empty", ""),
    Case("blank", "   "),
    Case("huge", HUGE),
    Case("nul", "a\x00b"),
    Case("control", "a\nb\tc\x1b[31m\rd"),
    Case("invalid-utf8", "ok\udcff\udcfe"),  # how Python carries invalid bytes of argv
    Case("unicode", "\u00e9\u2028\u202e\ufeff"),
    Case("leading-dash", "-x"),
    Case("negative", "-1"),
    Case("huge-number", "9" * 30),
    Case("unknown-id", "nobody"),
    Case("unknown-uuid", "00000000-0000-4000-8000-000000000000"),
    Case("overlong-id", "x" * 201),
    Case("sql", "x'; DROP TABLE ledger_events; --"),
    Case("zero", "0"),
    Case("fraction", "1.5"),
    Case("padded", " comp "),
    Case("system-file", "/etc/passwd"),
)
DATES = (
    Case("impossible-date", "2026-02-30"),
    Case("first-day", "0001-01-01"),
    Case("last-day", "9999-12-31"),
    Case("last-moment", "9999-12-31T23:59:59-05:00"),
    Case("not-a-date", "yesterday"),
    Case("month-13", "2026-13-01"),
    Case("not-a-leap-year", "2027-02-29"),
)
FILES = (
    Case("traversal", "../../outside/../../x"),
    Case("directory", "."),
    Case("missing-parent", "no/such/dir/file"),
    Case("under-a-file", "afile/x"),
    Case("binary-file", "binary.bin"),
    Case("endless-file", "/dev/zero"),
    Case("link-loop", "loop"),
)
IDS = (Case("overlong-id", "x" * 201), Case("unknown-id", "nobody"),
       Case("control", "a\nb"), Case("invalid-utf8", "ok\udcff"))


def kind(param: click.Parameter) -> str:
    name = (param.name or "").lower()
    metavar = (getattr(param, "metavar", None) or "").upper()
    if isinstance(param.type, click.Path) or name in ("data_dir",):
        return "file"
    if metavar in ("DATE", "DATETIME") or name in ("dob", "session_date", "as_of", "at",
                                                   "on", "start", "end"):
        return "date"
    if name in ("actor", "staff_id", "client_ref", "clients") or name.endswith("_id"):
        return "id"
    return "general"


def cases_for(param: click.Parameter) -> list[Case]:
    """The classes meant for the parameter's kind, then the general ones (once each)."""
    meant = {"file": FILES, "date": DATES, "id": IDS}.get(kind(param), ())
    return list({c.name: c for c in (*meant, *GENERAL)}.values())


# ----- the practice every run starts from ---------------------------------------------------

@dataclass
class Practice:
    data: Path
    cwd: Path
    ids: dict[str, str]
    runner: CliRunner = field(default_factory=CliRunner)
    counter: int = 0

    def run(self, args: list[str], stdin: bytes | None = None) -> Any:
        return self.runner.invoke(ledger, ["--data-dir", str(self.data), *args], input=stdin)

    def fresh(self, stem: str) -> str:
        """A path that does not exist yet (a new --out each run)."""
        self.counter += 1
        return str(self.cwd / f"{stem}-{self.counter}")


def ok(result: Any) -> str:
    assert result.exit_code == 0, (result.output, result.stderr)
    return str(result.stdout)


@pytest.fixture(scope="module")
def practice(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Practice]:
    top = tmp_path_factory.mktemp("bad-input")
    cwd = top / "a" / "b" / "c" / "d"  # relative paths with ../.. stay inside top
    cwd.mkdir(parents=True)
    (cwd / "afile").write_text("a file\n")
    (cwd / "binary.bin").write_bytes(bytes(range(256)) * 4)
    (cwd / "note.txt").write_text("a note\n")
    (cwd / "loop").symlink_to("loop")
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("LEDGER_")}
    old_cwd = os.getcwd()
    os.chdir(cwd)
    p = Practice(data=top / "data", cwd=cwd, ids={})
    try:
        ok(p.run(["init"]))
        ok(p.run(["staff", "add", "--id", "admin", "--name", "A", "--role", "admin"]))
        for staff_id, role in [("dr-lee", "clinician"), ("sup", "supervisor"),
                               ("bill", "billing"), ("desk", "front-desk"),
                               ("comp", "compliance")]:
            ok(p.run(["staff", "add", "--id", staff_id, "--name", staff_id, "--role", role,
                      "--as", "admin"]))
        ok(p.run(["client", "add", "--id", "C-1", "--name", "Jane Roe", "--dob", "1990-04-01",
                  "--state", "CA", "--as", "desk"]))
        ok(p.run(["client", "episode", "open", "C-1", "--as", "desk", "--license", "lmft",
                  "--start", "2020-01-01"]))
        p.ids["note"] = ok(p.run(["note", "write", "--client", "C-1", "--as", "dr-lee"],
                                 stdin=b"first\n")).strip()
        p.ids["pn"] = ok(p.run(["pn", "write", "--client", "C-1", "--as", "dr-lee"],
                               stdin=b"sealed\n")).strip()
        p.ids["authorization"] = ok(p.run([
            "authorize", "grant", "--client", "C-1", "--as", "comp", "--scope",
            "progress-notes", "--recipient", "R", "--purpose", "p", "--expires", "2099-01-01",
            "--signed-by", "Jane Roe", "--json"])).split('"authorization_id": "')[1][:36]
        p.ids["hold"] = ok(p.run(["hold", "place", "--client", "C-1", "--as", "comp",
                                  "--reason", "r", "--json"])).split('"hold_id": "')[1][:36]
        ok(p.run(["checkpoint"]))
        p.ids["checkpoint"] = str(next((p.data / "checkpoints" / "main").glob("*.note")))
        p.ids["bundle"] = str(cwd / "bundle")
        ok(p.run(["export", "bundle", "--out", p.ids["bundle"]]))
        yield p
    finally:
        os.chdir(old_cwd)
        os.environ.update(saved)


STORES = (("ledger", "main"), ("psychotherapy", "psychotherapy"))
# What an attempt records whatever its outcome (its topics are stored in the clear).
RECORDS = {"ledger.aggregates.audit:AuditEntry.Recorded",
           "ledger.aggregates.disclosure:Disclosure.Recorded"}


def query(p: Practice, name: str, sql: str, *args: object) -> list[tuple[Any, ...]]:
    """Read a store's file directly (not through the ledger: nothing is opened, caught up
    or recorded)."""
    db = sqlite3.connect(f"file:{p.data / f'{name}.sqlite'}?mode=ro", uri=True)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def stores(p: Practice) -> tuple[tuple[int, int, bytes | None], ...]:
    """Each store's event count, last notification id and chain head."""
    found = []
    for prefix, name in STORES:
        [(count, last)] = query(p, name, f"SELECT count(*), max(id) FROM {prefix}_events")
        head = query(p, name, f"SELECT chain FROM {prefix}_chain ORDER BY position DESC "
                              "LIMIT 1")
        found.append((int(count), int(last or 0), bytes(head[0][0]) if head else None))
    return tuple(found)


def only_records(p: Practice, before: tuple[tuple[int, int, bytes | None], ...]) -> bool:
    """Whether each store gained at most one event since ``before``, an attempt's record."""
    for (prefix, name), (_, last, _) in zip(STORES, before, strict=True):
        topics = [t for (t,) in query(p, name, f"SELECT topic FROM {prefix}_events "
                                               "WHERE id > ?", last)]
        if len(topics) > 1 or not set(topics) <= RECORDS:
            return False
    return True


# ----- a valid command line to vary, found from the tree ------------------------------------

def commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[
        tuple[str, click.Command]]:
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))
        else:
            yield " ".join((*path, name)), command


ALL = list(commands(ledger))

# Values that make a command line valid, by parameter name; a command may say otherwise.
VALUES: dict[str, str] = {
    "actor": "comp", "client_ref": "C-1", "staff_id": "dr-lee", "name": "N",
    "dob": "1990-01-01", "jurisdiction": "CA", "purpose": "TREAT", "reason": "r",
    "recipient": "County Coroner", "recipient_type": "coroner", "scopes": "progress-notes",
    "signed_by": "Jane Roe", "since": "2026-01-01", "until": "2026-12-31", "on": "2026-01-02",
    "start": "2026-01-02", "end": "2026-01-03", "received": "2026-01-02",
    "occurred": "2026-01-02", "kind": "termination", "rule_id": "MA-c123-facility",
    "note": "n", "position": "1", "old": "1", "new": "2", "size": "2", "matter": "m",
    "clients": "C-1",
}
COMMAND_VALUES: dict[str, dict[str, str]] = {
    "note show": {"actor": "dr-lee"}, "note write": {"actor": "dr-lee"},
    "note amend": {"actor": "dr-lee"}, "note list": {"actor": "dr-lee"},
    "pn show": {"actor": "dr-lee"}, "pn write": {"actor": "dr-lee"},
    "pn amend": {"actor": "dr-lee"}, "pn list": {"actor": "dr-lee"},
    "record-set": {"actor": "dr-lee"}, "client add": {"actor": "desk", "client_ref": "C-2"},
    "client contact": {"actor": "desk"}, "client episode open": {"actor": "desk"},
    "client episode close": {"actor": "desk"}, "disclose": {"purpose": "PUBHLTH"},
    "staff add": {"actor": "admin", "staff_id": "new-staff"},
    "staff set-role": {"actor": "admin"}, "staff deactivate": {"actor": "admin"},
    "retention precondition": {"kind": "notify-agency"},
    "retention run": {"at": "2026-01-02"}, "authorize grant": {"purpose": "continuity"},
}
# What a command needs besides its required parameters, to be valid.
EXTRA: dict[str, list[str]] = {
    "disclose": ["--note", "{note}", "--exception", "CORONER_512g1"],
    "authorize grant": ["--expires", "2099-01-01"],
    "retention run": ["--dry-run"],  # never a real purge here
    "note show": ["--purpose", "TREAT"], "pn show": ["--purpose", "TREAT"],
}


def value_for(p: Practice, path: str, param: click.Parameter) -> str:
    name = param.name or ""
    given = COMMAND_VALUES.get(path, {}).get(name) or VALUES.get(name)
    if given is not None:
        return given
    if name in ("note_id",):
        return p.ids["note"]
    if name in ("pn_id",):
        return p.ids["pn"]
    if name in ("hold_id",):
        return p.ids["hold"]
    if name in ("authorization_id", "authorization"):
        return p.ids["authorization"]
    if name in ("checkpoint_file", "held_files"):
        return p.ids["checkpoint"]
    if name == "public_key":
        return str(p.data / "keys" / "checkpoint.pub")
    if name == "directory":
        return p.ids["bundle"]
    if name == "file":
        return "note.txt"
    if isinstance(param.type, click.Path):
        return p.fresh(name)  # an output: new each time
    if isinstance(param.type, click.Choice):
        return str(param.type.choices[0])
    if isinstance(param.type, click.types._NumberRangeBase):
        return str(param.type.min or 1)
    return "x"  # a new parameter: the invariants hold whatever it is


def takes_value(param: click.Parameter) -> bool:
    return not (isinstance(param, click.Option) and (param.is_flag or param.count))


def required(param: click.Parameter) -> bool:
    """Required by click, or in local mode (``--as``: required locally, refused remotely,
    so click itself does not require it)."""
    return param.required or bool(getattr(param, "required_locally", False))


def command_line(p: Practice, path: str, command: click.Command,
                 vary: click.Parameter | None, value: str) -> list[str]:
    """``ledger PATH`` with every required parameter valid, what the command needs besides
    them, and ``vary`` (required or not) given ``value``."""
    positional: list[str] = []
    options: list[str] = []
    for param in command.params:
        if not takes_value(param) or param.name == "help":
            continue
        if param is not vary and not required(param):
            continue
        given = value if param is vary else value_for(p, path, param)
        if isinstance(param, click.Argument):
            positional.append(given)
        else:
            flag = next(o for o in param.opts if o.startswith("--"))
            options += [flag, given]
    extra = [a.format(**p.ids) for a in EXTRA.get(path, [])]
    if vary is not None and isinstance(vary, click.Option):  # the varied option wins
        flags = set(vary.opts)
        cleaned, skip = [], False
        for a in extra:
            if skip:
                skip = False
                continue
            if a in flags:
                skip = True
                continue
            cleaned.append(a)
        extra = cleaned
    # "--" keeps a value such as -x an argument, as a person would have to type it.
    return [*path.split(), *options, *extra, *(["--", *positional] if positional else [])]


STDIN = {"note write", "note amend", "pn write", "pn amend"}


def check(p: Practice, args: list[str], stdin: bytes | None, problems: list[str]) -> None:
    before = stores(p)
    result = p.run(args, stdin=stdin)
    after = stores(p)
    shown = " ".join(a if len(a) < 40 else a[:20] + "..." for a in args)
    code, err = result.exit_code, result.stderr
    why = []
    if code not in EXIT_CODES:
        why.append(f"exit {code} ({type(result.exception).__name__})")
    if "Traceback" in result.output + err:
        why.append("a traceback")
    if "unexpected" in err:
        why.append(f"an unexpected error: {err.strip()[:120]}")
    lines = err.count("\n")
    # A failure is one line on stderr; success and damage found (exit 3: the report is on
    # stdout) at most one (a progress label, or the line naming what failed).
    if (code in (0, 3) and lines > 1) or (code not in (0, 3) and lines != 1) or (
            err and not err.endswith("\n")):
        why.append(f"{lines} lines on stderr: {err[:200]!r}")
    if any("\x1b" in text or "\x00" in text for text in (err,)):
        why.append("a control character on stderr")
    recorded_by_design = code == 4 or (code == 1 and any(
        words in err for words in ("not found", "destroyed", "has no version")))
    if code != 0 and after != before and not (recorded_by_design and
                                              only_records(p, before)):
        why.append(f"the stores changed: {[s[:2] for s in before]} -> "
                   f"{[s[:2] for s in after]}")
    if why:
        problems.append(f"ledger {shown}: exit {code}: {'; '.join(why)}")


def verified(p: Practice) -> str | None:
    r = p.run(["verify"])
    return None if r.exit_code == 0 else f"verify failed: {r.output}{r.stderr}"


@pytest.fixture(autouse=True)
def no_scheduler(monkeypatch: pytest.MonkeyPatch) -> None:
    """``jobs run`` would run until stopped: here it returns once it would start."""
    import jobs.scheduler

    monkeypatch.setattr(jobs.scheduler, "run_forever", lambda *a, **k: None)


@pytest.fixture(autouse=True)
def no_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """``serve`` would serve until stopped: here it returns once it would start."""
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: None)


@pytest.mark.parametrize(("path", "command"), ALL, ids=[path for path, _ in ALL])
def test_every_parameter_with_bad_input(practice: Practice, path: str,
                                        command: click.Command) -> None:
    problems: list[str] = []
    params = [q for q in command.params if takes_value(q) and q.name != "help"]
    check(practice, command_line(practice, path, command, None, ""), None
          if path not in STDIN else b"text\n", problems)  # the command line as valid
    for param in params:
        for case in cases_for(param):
            value = case.value
            if case.name == "directory":
                value = str(practice.cwd)
            args = command_line(practice, path, command, param, value)
            check(practice, args, b"text\n" if path in STDIN else None, problems)
    if path in STDIN:  # the text itself: not UTF-8, NUL, empty
        for text in (b"\xff\xfe bad", b"a\x00b", b""):
            check(practice, command_line(practice, path, command, None, ""), text, problems)
    if (failed := verified(practice)) is not None:
        problems.append(failed)
    assert not problems, "\n".join(problems)


def test_the_group_options(practice: Practice, tmp_path: Path) -> None:
    """The group's own --data-dir, with a command that reads; and remote mode's --server
    and --token-file, each with a valid other (the server's address is never a reachable
    one here: no case is a valid http(s) URL, so nothing is sent anywhere)."""
    token = tmp_path / "token"
    token.write_text("lgst_x\n")
    token.chmod(0o600)
    problems: list[str] = []
    for option, others in (("--data-dir", []),
                           ("--server", ["--token-file", str(token)]),
                           ("--token-file", ["--server", "http://127.0.0.1:9"])):
        for case in (*FILES, *GENERAL):
            value = str(practice.cwd) if case.name == "directory" else case.value
            result = practice.runner.invoke(ledger, [option, value, *others, "staff", "list"])
            if result.exit_code not in EXIT_CODES or result.stderr.count("\n") > 1 or (
                    result.exit_code != 0 and result.stderr.count("\n") != 1) or \
                    "unexpected" in result.stderr or "lgst_x" in result.output + result.stderr:
                problems.append(f"{option} {case.name}: {result.exit_code} {result.stderr!r}")
            if option == "--server" and result.exit_code == 0:
                problems.append(f"--server {case.name}: accepted")
    assert problems == []


# ----- real processes: invalid bytes in argv and on stdin ------------------------------------

@pytest.mark.parametrize("args", [
    [b"access-log", b"--as", b"comp\xff"],
    [b"note", b"list", b"--client", b"C-\xc3\x28", b"--as", b"dr-lee"],
    [b"hold", b"place", b"--client", b"C-1", b"--as", b"comp", b"--reason", b"\xed\xa0\x80"],
    [b"record-set", b"\xfe", b"--as", b"comp"],
], ids=["as", "client", "reason", "argument"])
def test_invalid_utf8_bytes_in_arguments(practice: Practice, args: list[bytes]) -> None:
    before = stores(practice)
    r = subprocess.run([sys.executable, "-m", "cli", b"--data-dir", bytes(practice.data),
                        *args], capture_output=True, cwd=ROOT, timeout=120, check=False,
                       env={k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")})
    assert r.returncode == 1 and r.stderr.endswith(b" is not valid UTF-8 text\n")
    assert r.stderr.count(b"\n") == 1 and stores(practice) == before


def test_invalid_utf8_bytes_on_stdin(practice: Practice) -> None:
    before = stores(practice)
    r = subprocess.run([sys.executable, "-m", "cli", "--data-dir", str(practice.data), "note",
                        "write", "--client", "C-1", "--as", "dr-lee"], input=b"\xff\xfe\x00",
                       capture_output=True, cwd=ROOT, timeout=120, check=False,
                       env={k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")})
    assert (r.returncode, r.stderr) == (1, b"error: note text is not UTF-8 text\n")
    assert stores(practice) == before


def test_every_class_is_used() -> None:
    used = {c.name for path, command in ALL for q in command.params if takes_value(q)
            for c in cases_for(q)}
    assert used == {c.name for c in (*GENERAL, *DATES, *FILES, *IDS)}
