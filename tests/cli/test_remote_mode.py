"""The CLI's remote mode through click's runner against the HTTP service served in this
process (uvicorn in a thread on 127.0.0.1): every staff command prints what local mode
prints on the same data, each answer the service can give maps to local mode's line and
exit code (or to remote mode's own: 401 exit 6, 429 exit 5, a 500, no answer), ``--as`` is
refused remotely and required locally, and the local-only commands refuse remote mode."""

from __future__ import annotations

import re
import socket
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from cli.main import ledger
from ledger.settings import Settings
from tests.cli.remote_server import now, practice, serving, serving_app

REMOTE_ENV = ("LEDGER_SERVER", "LEDGER_TOKEN", "LEDGER_TOKEN_FILE", "LEDGER_CA_FILE",
              "LEDGER_TIMEOUT", "LEDGER_DATA_DIR", "LEDGER_URL", "LEDGER_SCHEMA",
              "LEDGER_PN_URL", "LEDGER_PN_SCHEMA")


@dataclass
class Site:
    settings: Settings
    url: str
    tokens: dict[str, str]
    runner: CliRunner = field(default_factory=CliRunner)

    def local(self, who: str | None, *args: str, input: str | None = None) -> Result:
        """``ledger ARGS`` in local mode, with ``--as WHO`` if given."""
        return self.runner.invoke(
            ledger, ["--data-dir", str(self.settings.data_dir), *args,
                     *(["--as", who] if who else [])], input=input, env=_env())

    def remote(self, who: str, *args: str, input: str | None = None,
               **env: str) -> Result:
        """``ledger ARGS`` in remote mode, with WHO's token."""
        return self.runner.invoke(ledger, list(args), input=input, env=_env(
            LEDGER_SERVER=self.url, LEDGER_TOKEN=self.tokens[who], **env))


def _env(**values: str) -> dict[str, str | None]:
    return {**dict.fromkeys(REMOTE_ENV), **values}


def out(result: Result, code: int = 0) -> str:
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result.stdout


def one_line(result: Result, code: int) -> str:
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    assert "Traceback" not in result.output
    return result.stderr


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    settings, tokens = practice(tmp_path_factory.mktemp("remote"))
    with serving(settings) as url:
        yield Site(settings, url, tokens)


@pytest.fixture
def own_site(tmp_path: Path) -> Iterator[Site]:
    """A server of its own, for a test that breaks or throttles it."""
    settings, tokens = practice(tmp_path)
    with serving(settings) as url:
        yield Site(settings, url, tokens)


# ----- the same output --------------------------------------------------------------------------

ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00|\d{8}T\d{12}Z")
HEX = re.compile(r"\b[0-9a-f]{64}\b")


def shape(text: str) -> str:
    """``text`` with what differs from one run to the next (ids, times, hashes, numbers)
    replaced by placeholders."""
    text = HEX.sub("<hex>", TIME.sub("<time>", ID.sub("<id>", text)))
    return re.sub(r"\b\d+\b", "<n>", text)


def same(local: Result, remote: Result, *, exact: bool = True) -> None:
    assert (remote.exit_code, remote.stderr) == (local.exit_code, local.stderr), (
        remote.stderr, local.stderr)
    if exact:
        assert remote.stdout == local.stdout
    else:
        assert shape(remote.stdout) == shape(local.stdout)
    assert "Traceback" not in remote.output


def test_reads_print_what_local_mode_prints(site: Site) -> None:
    note = out(site.local("dr-lee", "note", "write", "--client", "C-1", input="A session.\n"))
    pn = out(site.local("dr-lee", "pn", "write", "--client", "C-1", input="Process.\n"))
    note, pn = note.strip(), pn.strip()
    out(site.local("comp", "authorize", "grant", "--client", "C-1", "--scope",
                   "progress-notes", "--recipient", "Dr Park", "--purpose", "care",
                   "--expires", "2099-01-01", "--signed-by", "Jane Roe"))
    out(site.local("comp", "hold", "place", "--client", "C-1", "--reason", "a suit"))
    out(site.local("desk", "client", "episode", "open", "C-1", "--license", "lmft",
                   "--start", "2020-01-05"))
    out(site.local(None, "checkpoint"))
    today = now().date().isoformat()
    moment = now().isoformat()
    for who, args in [
        ("dr-lee", ("note", "show", note, "--purpose", "TREAT")),
        ("dr-lee", ("note", "show", note, "--purpose", "TREAT", "--json")),
        ("dr-lee", ("note", "list", "--client", "C-1")),
        ("dr-lee", ("pn", "show", pn, "--purpose", "TREAT")),
        ("dr-lee", ("pn", "list", "--client", "C-1", "--json")),
        ("dr-lee", ("record-set", "C-1", "--as-of", moment)),
        ("comp", ("authorize", "list", "--client", "C-1")),
        ("comp", ("hold", "list", "--json")),
        ("comp", ("accounting", "C-1", "--at", today)),
        ("comp", ("retention", "explain", "C-1", "--at", "2030-01-01")),
        ("comp", ("retention", "explain", "C-1", "--at", "2030-01-01", "--json")),
        ("comp", ("retention", "plan", "--at", "2040-01-01")),
        ("comp", ("retention", "plan", "--at", "2040-01-01", "--json")),
        ("comp", ("retention", "plan", "--at", "2040-01-01", "--from-log")),
        ("comp", ("retention", "run", "--dry-run", "--at", "2040-01-01")),
        ("comp", ("retention", "run", "--dry-run", "--at", "2040-01-01", "--json")),
        ("comp", ("access-log", "--staff", "dr-lee")),
        ("comp", ("access-log", "--staff", "dr-lee", "--store", "pn", "--json")),
        ("admin", ("staff", "token", "list")),
    ]:
        same(site.local(who, *args), site.remote(who, *args))
    for args in [("staff", "list"), ("proof", "inclusion", "2"), ("roles",),
                 ("proof", "consistency", "1", "3", "--json")]:
        same(site.local(None, *args), site.remote("comp", *args))
    # The server records the remote verification, an audited use, so the main store's
    # head moves between the two: the same lines, the same damage (none), new numbers.
    same(site.local(None, "verify"), site.remote("comp", "verify"), exact=False)
    same(site.local("comp", "investigate", "psychotherapy-releases"),
         site.remote("comp", "investigate", "psychotherapy-releases"), exact=False)


def test_writes_print_what_local_mode_prints(site: Site, tmp_path: Path) -> None:
    def both(who: str | None, *args: str, input: str | None = None) -> tuple[str, str]:
        """The command in each mode ("{n}" in an argument: 1 locally, 2 remotely)."""
        local = site.local(who, *(a.format(n=1) for a in args), input=input)
        remote = site.remote(who or "comp", *(a.format(n=2) for a in args), input=input)
        same(local, remote, exact=False)
        return local.stdout.strip(), remote.stdout.strip()

    notes = both("dr-lee", "note", "write", "--client", "C-1", input="Text.\n")
    for n in notes:
        both("dr-lee", "note", "amend", n, "--reason", "typo", input="Text, fixed.\n")
    pns = both("dr-lee", "pn", "write", "--client", "C-1", "--session-date", "2026-01-02",
               input="Sealed.\n")
    both("dr-lee", "disclose", "--client", "C-1", "--to", "County Coroner",
         "--recipient-type", "coroner", "--purpose", "PUBHLTH", "--note", notes[0],
         "--exception", "CORONER_512g1", "--assertion", "written request, 2026-01-10")
    releases = [str(tmp_path / "local.json"), str(tmp_path / "remote.json")]
    local = site.local("dr-lee", "disclose", "--client", "C-1", "--to", "Medical Examiner",
                       "--recipient-type", "coroner", "--purpose", "PUBHLTH", "--pn", pns[0],
                       "--exception", "CORONER_512g1", "--assertion", "written request",
                       "--out", releases[0])
    remote = site.remote("dr-lee", "disclose", "--client", "C-1", "--to", "Medical Examiner",
                         "--recipient-type", "coroner", "--purpose", "PUBHLTH", "--pn", pns[1],
                         "--exception", "CORONER_512g1", "--assertion", "written request",
                         "--out", releases[1])
    assert shape(remote.stdout.replace(releases[1], "F")) == shape(
        local.stdout.replace(releases[0], "F"))
    assert (remote.exit_code, remote.stderr) == (local.exit_code, local.stderr)
    both("comp", "authorize", "grant", "--client", "C-1", "--scope", "psychotherapy-notes",
         "--recipient", "Dr Ray Park", "--recipient-type", "provider", "--purpose", "care",
         "--expiry-event", "end of treatment", "--signed-by", "Jane Roe", "--signed-on",
         "2026-01-02", "--json")
    both("desk", "client", "add", "--id", "C-9{n}", "--name", "John Doe", "--dob",
         "1980-02-03", "--state", "NY")
    both("desk", "client", "contact", "C-1", "--on", "2020-07-14")
    both("comp", "hold", "place", "--matter", "Roe v. Clinic", "--clients", "C-1,C-9{n}",
         "--reason", "litigation")
    for who, n in (("admin", "local"), ("admin", "remote")):
        result = (site.local if n == "local" else site.remote)(
            who, "staff", "add", "--id", f"dr-{n}", "--name", f"Dr {n}", "--role", "clinician")
        assert out(result) == f"dr-{n}\tclinician\tactive\tDr {n}\n"
    assert out(site.remote("admin", "staff", "set-role", "dr-remote", "--role",
                           "supervisor")) == "dr-remote\tsupervisor\tactive\tDr remote\n"
    assert out(site.remote("admin", "staff", "deactivate", "dr-remote")) == (
        "dr-remote\tsupervisor\tdeactivated\tDr remote\n")
    local, remote = (site.local("admin", "staff", "token", "issue", "dr-lee", "--expires",
                                "2099-01-01"),
                     site.remote("admin", "staff", "token", "issue", "dr-lee", "--expires",
                                 "2099-01-01"))
    assert re.fullmatch(r"lgst_[A-Za-z0-9_-]{43}\n", remote.stdout)
    assert shape(remote.stderr) == shape(local.stderr) and remote.exit_code == 0
    token_id = ID.search(remote.stderr)
    assert token_id is not None
    assert "revoked" in out(site.remote("admin", "staff", "token", "revoke", token_id[0]))
    for n, runner in (("local", site.local), ("remote", site.remote)):
        copy = tmp_path / f"checkpoints-{n}"
        result = runner(None if n == "local" else "comp", "checkpoint", "--out", str(copy))
        assert shape(out(result).replace(str(copy), "DIR")) == (
            "ledger/KEY/main: size <n>, root <hex> -> DIR/main/<n>-<time>.note\n"
            "ledger/KEY/psychotherapy: size <n>, root <hex> -> "
            "DIR/psychotherapy/<n>-<time>.note\n").replace("KEY", _key(result))
        assert sorted(p.name.split("-")[0] for p in copy.rglob("*.note")) == sorted(
            re.findall(r"/(\d{12})-", result.stdout))


def _key(result: Result) -> str:
    found = re.search(r"ledger/([0-9a-f]{16})/", result.stdout)
    assert found is not None
    return found[1]


def test_exports_write_what_local_mode_writes(site: Site, tmp_path: Path) -> None:
    out(site.local(None, "checkpoint"))
    bundles = tmp_path / "local-bundle", tmp_path / "remote-bundle"
    local = site.local(None, "export", "bundle", "--out", str(bundles[0]))
    remote = site.remote("comp", "export", "bundle", "--out", str(bundles[1]))
    assert remote.stdout.replace(str(bundles[1]), "B") == local.stdout.replace(
        str(bundles[0]), "B")
    assert sorted(p.relative_to(bundles[1]) for p in bundles[1].rglob("*")) == sorted(
        p.relative_to(bundles[0]) for p in bundles[0].rglob("*"))
    for path in bundles[1].rglob("*"):
        assert path.stat().st_mode & 0o777 == (0o700 if path.is_dir() else 0o600)
    key = site.settings.data_dir / "keys" / "checkpoint.pub"
    assert "verified" in out(site.remote("comp", "verify-bundle", str(bundles[1]),
                                         "--public-key", str(key)))
    requests = tmp_path / "local-request", tmp_path / "remote-request"
    local = site.local("comp", "export", "access-request", "C-1", "--out", str(requests[0]))
    remote = site.remote("comp", "export", "access-request", "C-1", "--out", str(requests[1]))
    assert remote.stdout.replace(str(requests[1]), "D") == local.stdout.replace(
        str(requests[0]), "D")
    for name in ("record-set.txt", "record-set.json"):
        assert shape((requests[1] / name).read_text()) == shape(
            (requests[0] / name).read_text())


# ----- the same errors ---------------------------------------------------------------------------

def test_errors_are_local_modes_lines_and_exit_codes(site: Site) -> None:
    note = out(site.local("dr-lee", "note", "write", "--client", "C-1", input="x\n")).strip()
    auth = out(site.local("comp", "authorize", "grant", "--client", "C-1", "--scope",
                          "progress-notes", "--recipient", "R", "--purpose", "p",
                          "--expires", "2099-01-01", "--signed-by", "Jane Roe")).split()[0]
    missing = "00000000-0000-4000-8000-000000000000"
    for who, args, code in [
        ("dr-lee", ("note", "show", missing, "--purpose", "TREAT"), 1),  # 404
        ("dr-lee", ("note", "list", "--client", "C-404"), 1),  # 404
        ("dr-lee", ("note", "show", note, "--purpose", "XYZ"), 1),  # 422 from the service
        ("comp", ("authorize", "revoke", auth, "--received", "2000-01-01"), 1),  # 422
        ("bill", ("note", "show", note, "--purpose", "TREAT"), 4),  # 403, recorded
        ("comp", ("staff", "set-role", "dr-lee", "--role", "admin"), 4),  # 403
        ("desk", ("pn", "list", "--client", "C-1"), 4),  # 403 in the sealed store
    ]:
        local, remote = site.local(who, *args), site.remote(who, *args)
        one_line(remote, code)
        same(local, remote)


def test_a_refusal_is_recorded_once_per_call(site: Site) -> None:
    note = out(site.local("dr-lee", "note", "write", "--client", "C-1", input="x\n")).strip()

    def refusals() -> int:
        return len(out(site.local("comp", "access-log", "--staff", "bill", "--outcome",
                                  "denied", "--json")).split('"actor_id"')) - 1

    before = refusals()
    one_line(site.remote("bill", "note", "show", note, "--purpose", "TREAT"), 4)
    assert refusals() == before + 1


def test_an_integrity_failure_is_exit_3_with_the_damage(own_site: Site) -> None:
    out(own_site.local("dr-lee", "note", "write", "--client", "C-1", input="x\n"))
    db = sqlite3.connect(own_site.settings.data_dir / "main.sqlite")
    (state,) = db.execute("SELECT state FROM ledger_events WHERE id = 3").fetchone()
    db.execute("UPDATE ledger_events SET state = ? WHERE id = 3",
               (bytes([state[0] ^ 1]) + state[1:],))
    db.commit()
    db.close()
    local, remote = own_site.local(None, "verify"), own_site.remote("comp", "verify")
    assert remote.exit_code == 3 and "main: DAMAGED at position 3" in remote.stdout
    same(local, remote, exact=False)
    investigation = own_site.remote("comp", "investigate", "psychotherapy-releases")
    assert investigation.exit_code == 3
    assert "this report concludes nothing" in investigation.stdout


def test_busy_is_exit_5_as_locally(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ledger.persistence.recorder.SQLITE_BUSY_TIMEOUT_S", 0.1)
    settings, tokens = practice(tmp_path)
    with serving(settings) as url:
        s = Site(settings, url, tokens)
        holder = sqlite3.connect(settings.data_dir / "main.sqlite", isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            args = ("client", "add", "--id", "C-2", "--name", "N", "--dob", "1990-01-01",
                    "--state", "CA")
            remote, local = s.remote("desk", *args), s.local("desk", *args)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert one_line(remote, 5) == ("error: the database is busy: another process holds "
                                       "its lock; nothing was saved, try again\n")
        same(local, remote)
        assert out(s.remote("desk", *args)) == "C-2\n"


# ----- what only remote mode meets ------------------------------------------------------------

UNAUTHENTICATED = ("error: authentication failed: the server did not accept the token (check "
                   "LEDGER_TOKEN or --token-file; a token may be expired or revoked)\n")


def test_a_token_the_server_does_not_accept_is_exit_6(own_site: Site) -> None:
    own_site.tokens["nobody"] = "lgst_" + "A" * 43
    assert one_line(own_site.remote("nobody", "staff", "list"), 6) == UNAUTHENTICATED
    listed = out(own_site.local("admin", "staff", "token", "list", "--staff", "dr-lee"))
    token_id = ID.match(listed)
    assert token_id is not None
    out(own_site.local("admin", "staff", "token", "revoke", token_id[0]))
    assert one_line(own_site.remote("dr-lee", "note", "list", "--client", "C-1"),
                    6) == UNAUTHENTICATED
    own_site.tokens["jwt"] = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9."
    assert one_line(own_site.remote("jwt", "staff", "list"), 6) == UNAUTHENTICATED


def test_throttled_is_exit_5_with_the_wait(own_site: Site) -> None:
    own_site.tokens["nobody"] = "lgst_" + "B" * 43
    for _ in range(10):
        one_line(own_site.remote("nobody", "staff", "list"), 6)
    line = one_line(own_site.remote("admin", "staff", "list"), 5)  # a valid token waits too
    assert line == ("error: too many failed authentications from this address: the server "
                    "accepts none for 60 s; nothing was done, try again then\n")


def test_a_server_failure_is_one_line_that_says_nothing_of_it(
        own_site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: Any) -> Any:
        raise RuntimeError("password=hunter2 at db.internal")

    monkeypatch.setattr("ledger.services.staff.Staff.list_staff", broken)
    line = one_line(own_site.remote("comp", "staff", "list"), 1)
    assert line == ("error: the server failed (500 Internal Server Error); nothing more is "
                    "known here: its log has the error\n")


def answering(status: int, content_type: str, body: bytes) -> Any:
    """An ASGI application that gives every request the same answer (as a reverse proxy
    in front of a stopped service, or a server of another version, would)."""
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", content_type.encode())]})
        await send({"type": "http.response.body", "body": body})

    return app


@pytest.mark.parametrize(("status", "content_type", "body", "line"), [
    (502, "text/html", b"<html>Bad Gateway</html>",
     "error: the server failed (502 Bad Gateway); nothing more is known here: its log has "
     "the error\n"),
    (200, "text/html", b"<html>Welcome</html>",
     "error: the server's answer to GET /v1/staff is not JSON\n"),
    (200, "application/json", b'[{"staff_id": "admin", "name": "A", "active": true}]',
     "error: the server's answer does not have what this version of the ledger expects "
     "(StaffInfo.role): use the same version as the server\n"),
    (302, "text/html", b"", "error: the server answered 302 Found\n"),
    (418, "application/problem+json", b'{"type": "urn:x", "status": 418, "detail": "\\u001b[31m"}',
     "error: the server answered 418 I'm a Teapot: \\x1b[31m\n"),
])
def test_an_answer_that_is_not_the_services_is_one_line(
        site: Site, status: int, content_type: str, body: bytes, line: str) -> None:
    with serving_app(answering(status, content_type, body)) as url:
        result = site.runner.invoke(ledger, ["staff", "list"], env=_env(
            LEDGER_SERVER=url, LEDGER_TOKEN=site.tokens["comp"]))
    assert one_line(result, 1) == line


def test_no_answer_in_time_is_one_line(own_site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    from ledger.services.staff import Staff

    listed = Staff.list_staff

    def slow(self: Any) -> Any:
        time.sleep(1.5)
        return listed(self)

    monkeypatch.setattr(Staff, "list_staff", slow)
    line = one_line(own_site.remote("comp", "staff", "list", LEDGER_TIMEOUT="0.3"), 1)
    assert line == (f"error: the server at {own_site.url} did not answer within 0.3 s "
                    "(LEDGER_TIMEOUT); what was asked may have been done: check before "
                    "running it again\n")


def test_an_unreachable_server_is_one_line(site: Site) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    result = site.runner.invoke(ledger, ["staff", "list"], env=_env(
        LEDGER_SERVER=closed, LEDGER_TOKEN=site.tokens["comp"]))
    assert one_line(result, 1) == (f"error: cannot reach the server at {closed}: "
                                   "Connection refused\n")
    tls = site.url.replace("http:", "https:")
    line = one_line(site.runner.invoke(ledger, ["staff", "list"], env=_env(
        LEDGER_SERVER=tls, LEDGER_TOKEN=site.tokens["comp"])), 1)
    assert line.startswith(f"error: cannot reach the server at {tls}: TLS: ")


def test_as_is_refused_remotely_and_required_locally(site: Site) -> None:
    line = one_line(site.remote("dr-lee", "note", "list", "--client", "C-1", "--as",
                                "dr-lee"), 2)
    assert line == ("error: --as is not taken in remote mode: the server knows who you are "
                    "from your token (see 'ledger note list --help')\n")
    one_line(site.remote("admin", "staff", "add", "--id", "x1", "--name", "X", "--role",
                         "billing", "--as", "admin"), 2)
    result = site.runner.invoke(ledger, ["--data-dir", str(site.settings.data_dir), "note",
                                         "list", "--client", "C-1"], env=_env())
    assert one_line(result, 2) == ("error: Missing option '--as' (see 'ledger note list "
                                   "--help')\n")
    assert "x1" not in out(site.local(None, "staff", "list"))


@pytest.mark.parametrize("args", [
    ("init",), ("serve",), ("jobs", "run"), ("jobs", "run", "--as", "comp"),
    ("jobs", "status"), ("projections", "status"), ("projections", "rebuild", "access-main"),
    ("projections", "check")])
def test_local_only_commands_refuse_remote_mode(site: Site, args: tuple[str, ...]) -> None:
    line = one_line(site.remote("comp", *args), 2)  # jobs and projections: the whole group
    assert line.startswith(f"error: ledger {args[0]} runs only in local mode: ")
    assert "unset LEDGER_SERVER" in line
    assert "Usage" in out(site.remote("comp", *args[:2], "--help"))


def test_remote_mode_needs_a_server_for_a_token_file(site: Site, tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text(site.tokens["comp"] + "\n")
    token.chmod(0o600)
    result = site.runner.invoke(ledger, ["--token-file", str(token), "staff", "list"],
                                env=_env())
    assert one_line(result, 2).startswith("error: --token-file is for remote mode")
    result = site.runner.invoke(ledger, ["--server", site.url, "--token-file", str(token),
                                         "staff", "list"], env=_env())
    assert out(result).startswith("admin\tadmin\tactive")
    token.chmod(0o640)
    result = site.runner.invoke(ledger, ["--server", site.url, "--token-file", str(token),
                                         "staff", "list"], env=_env())
    assert "may be read or written by other users" in one_line(result, 1)
    assert site.tokens["comp"] not in result.output


def test_remote_mode_loads_no_database_library(site: Site,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A remote command opens no store: neither the database stack nor the crypto library
    is imported (a real process, as tests/unit/test_startup.py probes --help)."""
    from tests.unit.test_startup import loaded

    for var in REMOTE_ENV:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LEDGER_SERVER", site.url)
    monkeypatch.setenv("LEDGER_TOKEN", site.tokens["comp"])
    for argv in (["staff", "list"], ["access-log", "--client", "C-1"],
                 ["retention", "explain", "C-1", "--at", "2030-01-01"], ["verify"],
                 ["investigate", "psychotherapy-releases", "--json"], ["hold", "list"]):
        assert loaded(argv) == [], argv
