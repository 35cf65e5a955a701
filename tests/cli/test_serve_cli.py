"""``ledger serve``: its options reach uvicorn as the app factory with the service's own
access log, and what would stop it stops it before anything listens, in one line."""

from __future__ import annotations

import os
from typing import Any

import pytest


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    import uvicorn

    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def run(*args: Any, **kwargs: Any) -> None:
        calls.append((args, kwargs | {"env": os.environ.get("LEDGER_DATA_DIR")}))

    monkeypatch.setattr(uvicorn, "run", run)
    monkeypatch.delenv("LEDGER_DATA_DIR", raising=False)
    return calls


def test_serve_runs_the_app_factory_without_uvicorns_access_log(run, started) -> None:  # type: ignore[no-untyped-def]
    assert run("init").exit_code == 0
    result = run("serve", "--port", "8443", "--workers", "3")
    assert result.exit_code == 0, result.stderr
    ((args, kwargs),) = started
    assert args == ("api.app:app_from_env",)
    assert kwargs["factory"] is True and kwargs["access_log"] is False
    assert (kwargs["host"], kwargs["port"], kwargs["workers"]) == ("127.0.0.1", 8443, 3)
    assert kwargs["ssl_certfile"] is None and kwargs["server_header"] is False
    loggers = kwargs["log_config"]["loggers"]
    assert "uvicorn.access" not in loggers and loggers["api"]["level"] == "INFO"
    assert kwargs["env"] == str(run.tmp_path / "data")  # the workers' data directory
    assert "LEDGER_DATA_DIR" not in os.environ  # and put back as it was


def test_tls_needs_both_files(run, started, tmp_path) -> None:  # type: ignore[no-untyped-def]
    run("init")
    cert = tmp_path / "cert.pem"
    cert.write_text("x")
    result = run("serve", "--tls-cert", str(cert))
    assert (result.exit_code, result.stderr) == (
        1, "error: give --tls-cert and --tls-key together\n")
    assert started == []


def test_an_uninitialised_data_directory_stops_before_listening(run, started) -> None:  # type: ignore[no-untyped-def]
    result = run("serve")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: no key-encryption key for the main store")
    assert result.stderr.count("\n") == 1
    assert started == []


def test_a_missing_sealed_store_key_stops_before_listening(run, started) -> None:  # type: ignore[no-untyped-def]
    run("init")
    (run.tmp_path / "data" / "keys" / "psychotherapy.kek").unlink()
    result = run("serve")
    assert result.exit_code == 1 and "psychotherapy" in result.stderr
    assert result.stderr.count("\n") == 1
    assert started == []
