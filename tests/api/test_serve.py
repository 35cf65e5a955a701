"""``ledger serve`` as a real process on a free 127.0.0.1 port, on SQLite and on
PostgreSQL, driven with httpx (every call bounded), stopped with SIGTERM; HTTPS with
--tls-cert/--tls-key; and two servers on one PostgreSQL schema writing at once, after which
both chains verify."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from ledger.bootstrap import open_ledger
from ledger.settings import Settings
from tests.conftest import seed

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = httpx.Timeout(10.0)
START_S = 60  # a server answers within this, or the test fails
STOP_S = 30

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env_for(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env["LEDGER_URL"], env["LEDGER_PN_URL"] = settings.main.url, settings.pn.url
    for var, schema in (("LEDGER_SCHEMA", settings.main.schema),
                        ("LEDGER_PN_SCHEMA", settings.pn.schema)):
        if schema:
            env[var] = schema
    return env


@contextmanager
def served(settings: Settings, log: Path, *extra: str,
           scheme: str = "http", verify: ssl.SSLContext | bool = False
           ) -> Iterator[httpx.Client]:
    """A ``ledger serve`` process and a client of it; stopped with SIGTERM, which must end
    it cleanly within STOP_S: the application shut down (the ledger closed), and the
    process ends by the signal, as uvicorn does (systemd counts that as a clean stop)."""
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli", "--data-dir", str(settings.data_dir), "serve",
             "--port", str(port), *extra], stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
            env=env_for(settings))
    try:
        client = httpx.Client(base_url=f"{scheme}://127.0.0.1:{port}", timeout=TIMEOUT,
                              verify=verify)
        deadline = time.monotonic() + START_S
        while True:
            assert proc.poll() is None, log.read_text(errors="replace")
            try:
                if client.get("/v1/staff").status_code == 401:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not answer in time"
            time.sleep(0.2)
        try:
            yield client
        finally:
            client.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=STOP_S) in (0, -signal.SIGTERM)
        assert "Application shutdown complete" in log.read_text(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=STOP_S)


def tokens(settings: Settings, *who: str) -> dict[str, dict[str, str]]:
    at = dt.datetime.now(dt.UTC)
    with open_ledger(settings) as lg:
        seed(lg, at)
        return {w: {"Authorization": f"Bearer {lg.tokens.issue(w, by='admin', at=at).token}"}
                for w in who}


def exercise(client: httpx.Client, auth: dict[str, dict[str, str]]) -> None:
    written = client.post("/v1/notes", headers=auth["dr-lee"],
                          json={"client": "C-1", "text": "Private session text."})
    assert written.status_code == 201, written.text
    note = written.json()["note"]
    shown = client.get(f"/v1/notes/{note}", params={"purpose": "TREAT"},
                       headers=auth["dr-lee"])
    assert shown.json()["text"] == "Private session text."
    refused = client.get(f"/v1/notes/{note}", params={"purpose": "TREAT"},
                         headers=auth["desk"])
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    log = client.post("/v1/access-log/search", headers=auth["comp"],
                      json={"client": "C-1", "outcome": "denied"})
    assert [(r["actor_id"], r["object_id"]) for r in log.json()] == [("desk", note)]


def test_serve_on_each_backend(settings: Settings, tmp_path: Path) -> None:
    auth = tokens(settings, "dr-lee", "desk", "comp")
    log = tmp_path / "server.log"
    with served(settings, log) as client:
        exercise(client, auth)
    text = log.read_text()
    assert "POST /v1/notes 201" in text and "GET /v1/notes/{note_id} 403" in text
    assert "C-1" not in text and "Private session" not in text and "purpose" not in text
    assert "Application shutdown complete" in text
    with open_ledger(settings) as lg:
        assert all(r.ok for r in lg.integrity.verify(at=dt.datetime.now(dt.UTC)))


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def test_serve_over_https(tmp_path: Path) -> None:
    from ledger.bootstrap import initialise
    from ledger.settings import load_settings

    settings = load_settings(str(tmp_path / "data"), environ={})
    initialise(settings, dt.datetime.now(dt.UTC))
    auth = tokens(settings, "dr-lee", "desk", "comp")
    cert, key = self_signed(tmp_path)
    with served(settings, tmp_path / "server.log", "--tls-cert", str(cert), "--tls-key",
                str(key), scheme="https",
                verify=ssl.create_default_context(cafile=str(cert))) as client:
        exercise(client, auth)
        with pytest.raises(httpx.TransportError):  # no plain HTTP on that port
            httpx.get(str(client.base_url).replace("https", "http") + "/v1/staff",
                      timeout=TIMEOUT)


@pytest.mark.postgres
def test_two_servers_on_one_postgres_schema_keep_both_chains(pg_settings: Settings,
                                                             tmp_path: Path) -> None:
    auth = tokens(pg_settings, "dr-lee", "dr-kim")
    per_writer = 12
    with served(pg_settings, tmp_path / "a.log") as a, \
            served(pg_settings, tmp_path / "b.log", "--workers", "2") as b:
        barrier = threading.Barrier(4, timeout=60)
        errors: list[str] = []

        def write(client: httpx.Client, who: str, store: str) -> None:
            try:
                barrier.wait()
                for i in range(per_writer):
                    path = "/v1/notes" if store == "main" else "/v1/psychotherapy-notes"
                    r = client.post(path, headers=auth[who], json={
                        "client": "C-1", "text": f"{who} {i}"})
                    if r.status_code != 201:
                        errors.append(f"{who} {store} {i}: {r.status_code} {r.text}")
            except Exception as e:
                errors.append(f"{who} {store}: {type(e).__name__}: {e}")

        threads = [threading.Thread(target=write, args=args) for args in (
            (a, "dr-lee", "main"), (b, "dr-kim", "main"), (a, "dr-kim", "pn"),
            (b, "dr-lee", "pn"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not any(t.is_alive() for t in threads)
        assert errors == []
    assert "Started parent process" in (tmp_path / "b.log").read_text()  # two workers
    with open_ledger(pg_settings) as lg:
        reports = lg.integrity.verify(at=dt.datetime.now(dt.UTC))
        assert [(r.store, r.ok) for r in reports] == [("main", True), ("psychotherapy", True),
                                                    ("journal", True)]
        assert len(lg.notes.list_notes("C-1", by="sup", at=dt.datetime.now(dt.UTC))) == (
            2 * per_writer)
        assert len(lg.psychotherapy.list_notes("C-1", by="sup", at=dt.datetime.now(
            dt.UTC))) == 2 * per_writer


@pytest.fixture
def pg_settings(tmp_path: Path) -> Iterator[Settings]:
    from ledger.bootstrap import initialise
    from tests.conftest import make_settings

    gen = make_settings(tmp_path, "postgres")
    s = next(gen)
    initialise(s, dt.datetime.now(dt.UTC))
    yield s
    next(gen, None)
