"""Remote mode end to end, in real processes: ``ledger serve`` on a free 127.0.0.1 port, on
SQLite and on PostgreSQL (its own schema), driven by ``ledger`` commands in remote mode,
each compared with what the same command prints in local mode on the same stores. The key
holder issues the tokens locally; every wait is bounded (the server's start by a deadline,
each command by a timeout) and the server is stopped with SIGTERM, which must end it."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from ledger.bootstrap import open_ledger
from ledger.settings import Settings
from tests.api.test_serve import env_for, free_port, self_signed
from tests.conftest import seed

ROOT = Path(__file__).resolve().parents[2]
RUN_S = 60  # any one command
START_S = 60
STOP_S = 30

pytestmark = pytest.mark.slow


@contextmanager
def serving(settings: Settings, log: Path, *tls: Path) -> Iterator[str]:
    """``ledger serve``; with ``tls`` (a certificate and its key), over HTTPS."""
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli", "--data-dir", str(settings.data_dir), "serve",
             "--port", str(port), *(["--tls-cert", str(tls[0]), "--tls-key", str(tls[1])]
                                    if tls else [])],
            stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env_for(settings))
    url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    verify = ssl.create_default_context(cafile=str(tls[0])) if tls else True
    try:
        deadline = time.monotonic() + START_S
        while True:
            assert proc.poll() is None, log.read_text(errors="replace")
            try:
                if httpx.get(f"{url}/v1/staff", timeout=5, verify=verify).status_code == 401:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not answer in time"
            time.sleep(0.2)
        yield url
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=STOP_S) in (0, -signal.SIGTERM)
        assert "Application shutdown complete" in log.read_text(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=STOP_S)


class Site:
    def __init__(self, settings: Settings, tmp_path: Path) -> None:
        self.settings = settings
        self.tmp_path = tmp_path
        self.url = ""
        self.tokens: dict[str, str] = {}

    def run(self, args: list[str], env: dict[str, str], stdin: str | None
            ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([sys.executable, "-m", "cli", *args], cwd=ROOT, env=env,
                                input=stdin, capture_output=True, text=True, timeout=RUN_S,
                                check=False)
        assert "Traceback" not in result.stderr, result.stderr
        return result

    def local(self, who: str | None, *args: str, stdin: str | None = None
              ) -> subprocess.CompletedProcess[str]:
        return self.run(["--data-dir", str(self.settings.data_dir), *args,
                         *(["--as", who] if who else [])], env_for(self.settings), stdin)

    def remote(self, who: str, *args: str, stdin: str | None = None, **extra: str
               ) -> subprocess.CompletedProcess[str]:
        """With the token in a file (dr-lee) or in LEDGER_TOKEN (the others): both ways."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
        env["LEDGER_SERVER"] = self.url
        env.update(extra)
        if who == "dr-lee":
            path = self.tmp_path / "dr-lee.token"
            path.write_text(self.tokens[who] + "\n")
            path.chmod(0o600)
            env["LEDGER_TOKEN_FILE"] = str(path)
        else:
            env["LEDGER_TOKEN"] = self.tokens[who]
        return self.run(list(args), env, stdin)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def same(local: subprocess.CompletedProcess[str], remote: subprocess.CompletedProcess[str],
         *, shape: bool = False) -> None:
    assert (remote.returncode, remote.stderr) == (local.returncode, local.stderr)
    if shape:
        ids = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
        times = re.compile(r"\d{4}-\d\d-\d\dT[\d:.]+\+00:00")
        assert times.sub("T", ids.sub("ID", remote.stdout)) == times.sub(
            "T", ids.sub("ID", local.stdout))
    else:
        assert remote.stdout == local.stdout


def test_the_remote_cli_against_ledger_serve(settings: Settings, tmp_path: Path) -> None:
    with open_ledger(settings) as lg:
        seed(lg, dt.datetime.now(dt.UTC))
    site = Site(settings, tmp_path)
    for who in ("dr-lee", "bill", "comp"):  # the key holder issues them, locally
        issued = site.local("admin", "staff", "token", "issue", who, "--label", "remote CLI")
        site.tokens[who] = ok(issued).strip()
        assert re.fullmatch(r"lgst_[A-Za-z0-9_-]{43}", site.tokens[who])
    with serving(settings, tmp_path / "server.log") as url:
        site.url = url
        note = ok(site.remote("dr-lee", "note", "write", "--client", "C-1",
                              stdin="Private session text.\n")).strip()
        assert re.fullmatch(r"[0-9a-f-]{36}", note)
        same(site.local("dr-lee", "note", "show", note, "--purpose", "TREAT"),
             site.remote("dr-lee", "note", "show", note, "--purpose", "TREAT"))
        assert "Private session text." in ok(site.remote("dr-lee", "note", "show", note,
                                                         "--purpose", "TREAT"))
        same(site.local("dr-lee", "note", "list", "--client", "C-1"),
             site.remote("dr-lee", "note", "list", "--client", "C-1"))
        refused = site.remote("bill", "note", "show", note, "--purpose", "TREAT")
        assert refused.returncode == 4 and refused.stderr == (
            "error: refused: role billing may not read notes for purpose TREAT (the attempt "
            "was recorded)\n")
        same(site.local("bill", "note", "show", note, "--purpose", "TREAT"), refused)
        denied = ["access-log", "--staff", "bill", "--outcome", "denied"]
        same(site.local("comp", *denied), site.remote("comp", *denied))
        assert len(ok(site.remote("comp", *denied)).splitlines()) == 2  # both recorded
        disclose = ["disclose", "--client", "C-1", "--to", "County Coroner",
                    "--recipient-type", "coroner", "--purpose", "PUBHLTH", "--note", note,
                    "--exception", "CORONER_512g1", "--assertion", "written request"]
        same(site.local("dr-lee", *disclose), site.remote("dr-lee", *disclose), shape=True)
        today = dt.datetime.now(dt.UTC).date().isoformat()
        same(site.local("comp", "accounting", "C-1", "--at", today),
             site.remote("comp", "accounting", "C-1", "--at", today))
        assert ok(site.remote("comp", "accounting", "C-1", "--at", today)).count(
            "to County Coroner") == 1  # the two, summarised as one recipient's
        same(site.local("comp", "access-log", "--client", "C-1", "--staff", "dr-lee"),
             site.remote("comp", "access-log", "--client", "C-1", "--staff", "dr-lee"))
        as_given = site.remote("dr-lee", "note", "list", "--client", "C-1", "--as", "dr-lee")
        assert (as_given.returncode, as_given.stderr) == (2, (
            "error: --as is not taken in remote mode: the server knows who you are from your "
            "token (see 'ledger note list --help')\n"))
        verified = ok(site.remote("comp", "verify"))
        assert re.match(r"main: intact, \d+ events", verified)
    text = (tmp_path / "server.log").read_text()
    assert "Private session" not in text and "C-1" not in text and "County" not in text
    with open_ledger(settings) as lg:
        assert all(r.ok for r in lg.integrity.verify(at=dt.datetime.now(dt.UTC)))


def test_the_remote_cli_over_https_checks_the_certificate(tmp_path: Path) -> None:
    """The server's certificate is checked: a private certificate authority is named by
    LEDGER_CA_FILE, and without it a self-signed certificate is one line, exit 1."""
    from ledger.bootstrap import initialise
    from ledger.settings import load_settings

    settings = load_settings(str(tmp_path / "data"), environ={})
    initialise(settings, dt.datetime.now(dt.UTC))
    with open_ledger(settings) as lg:
        seed(lg, dt.datetime.now(dt.UTC))
    site = Site(settings, tmp_path)
    site.tokens["comp"] = ok(site.local("admin", "staff", "token", "issue", "comp")).strip()
    cert, key = self_signed(tmp_path)
    with serving(settings, tmp_path / "server.log", cert, key) as url:
        site.url = url
        assert ok(site.remote("comp", "staff", "list", LEDGER_CA_FILE=str(cert))).startswith(
            "admin\tadmin\tactive")
        refused = site.remote("comp", "staff", "list")
        assert refused.returncode == 1 and refused.stdout == ""
        assert re.fullmatch(rf"error: cannot reach the server at {url}: TLS: .*certificate.*"
                            r"\(a private certificate authority goes in LEDGER_CA_FILE\)\n",
                            refused.stderr)
