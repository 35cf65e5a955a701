"""Errors are application/problem+json (RFC 9457) with statuses in the categories of the
CLI's exit codes, a 500 says nothing, and the server's own log line carries no PHI."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from uuid import uuid4

import pytest
import sqlalchemy as sa

from api.app import create_app
from ledger.bootstrap import initialise
from ledger.errors import Busy, ContentDestroyed, KeyMaterialError, NotInitialised
from ledger.settings import load_settings
from tests.api.conftest import Practice, TestClient, now
from tests.conftest import all_events

SHAPE = {"type", "title", "status", "detail"}


def problem(response: object, status: int, kind: str) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert (response.headers["content-type"]  # type: ignore[attr-defined]
            == "application/problem+json")
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) >= SHAPE
    assert body["type"] == f"urn:ledger:problem:{kind}"
    assert body["status"] == status
    return body  # type: ignore[no-any-return]


def test_bad_input_from_a_service_is_422_with_its_message(practice: Practice) -> None:
    body = problem(practice.client.post(
        "/v1/notes", json={"client": "C-1", "text": "x", "session_date": "2026-02-30"},
        headers=practice.auth("dr-lee")), 422, "bad-input")
    assert body["detail"] == ("session_date must be a date like 2024-03-31, not "
                              "'2026-02-30'")


def test_a_request_the_types_refuse_is_422_naming_where_never_the_value(
        practice: Practice) -> None:
    secret = "Jane Roe 1988-02-14"
    body = problem(practice.client.post(
        "/v1/clients", json={"client": secret, "name": "x", "dob": "1990-01-01",
                             "state": "CA", "extra": secret},
        headers=practice.auth("desk")), 422, "bad-input")
    assert "body.client" in str(body["detail"]) and "body.extra" in str(body["detail"])
    assert secret not in str(body)
    assert [e["location"] for e in body["errors"]] == ["body.client", "body.extra"]


def test_text_with_a_nul_or_a_lone_surrogate_is_422(practice: Practice) -> None:
    for raw in ('{"client": "C-1", "text": "a\\u0000b"}', '{"client": "C-1", "text": "\\ud800"}'):
        body = problem(practice.client.post(
            "/v1/notes", content=raw, headers=practice.auth(
                "dr-lee", **{"content-type": "application/json"})), 422, "bad-input")
        assert str(body["detail"]).startswith("body.text: Value error, must")


def test_a_body_that_is_not_utf8_is_422(practice: Practice) -> None:
    body = problem(practice.client.post(
        "/v1/notes", content=b'{"client": "C-1", "text": "\xff"}',
        headers=practice.auth("dr-lee", **{"content-type": "application/json"})), 422,
        "bad-input")
    assert body["detail"] == "the request body cannot be read as JSON text (UTF-8)"


def test_not_found_is_404_and_the_attempt_is_recorded(practice: Practice) -> None:
    missing = uuid4()
    problem(practice.client.get(f"/v1/notes/{missing}?purpose=TREAT",
                                headers=practice.auth("dr-lee")), 404, "not-found")
    recorded = [e.outcome for e in all_events(practice.lg.main)  # type: ignore[attr-defined]
                if getattr(e, "object_id", None) == str(missing)]
    assert recorded == ["not-found"]


def test_an_unknown_route_and_a_wrong_method_are_problems_too(practice: Practice) -> None:
    problem(practice.client.get("/v1/nothing-here"), 404, "not-found")
    wrong = practice.client.delete("/v1/staff", headers=practice.auth("admin"))
    problem(wrong, 405, "method-not-allowed")
    assert "POST" in wrong.headers["allow"]


def test_a_body_too_large_is_413_before_it_is_read(practice: Practice) -> None:
    from api.middleware import MAX_BODY_BYTES

    response = practice.client.post(
        "/v1/notes", content=b"x" * (MAX_BODY_BYTES + 1),
        headers=practice.auth("dr-lee", **{"content-type": "application/json"}))
    problem(response, 413, "too-large")


@pytest.mark.parametrize(("error", "status", "kind"), [
    (ContentDestroyed("note 1 was destroyed on 2040-01-02 under rule CA-x"), 410,
     "content-destroyed"),
    (KeyMaterialError("no key-encryption key for the main store"), 503, "key-material"),
    (NotInitialised("run ledger init"), 503, "not-initialised"),
])
def test_each_ledger_error_has_its_status(practice: Practice, monkeypatch: pytest.MonkeyPatch,
                                          error: Exception, status: int, kind: str) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(practice.lg.notes, "read", fail)
    body = problem(practice.client.get(f"/v1/notes/{uuid4()}?purpose=TREAT",
                                       headers=practice.auth("dr-lee")), status, kind)
    assert body["detail"] == str(error)


@pytest.mark.parametrize("error", [
    Busy("the record is being changed by others; nothing was saved, try again"),
    sa.exc.OperationalError("INSERT ...", {}, sqlite3.OperationalError("database is locked")),
])
def test_busy_is_409_with_retry_after(practice: Practice, monkeypatch: pytest.MonkeyPatch,
                                      error: Exception) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(practice.lg.notes, "write", fail)
    response = practice.client.post("/v1/notes", json={"client": "C-1", "text": "x"},
                                    headers=practice.auth("dr-lee"))
    body = problem(response, 409, "busy")
    assert response.headers["retry-after"] == "1"
    assert "try again" in str(body["detail"])


def test_an_unexpected_error_is_500_with_no_detail_and_logs_only_its_kind(
        practice: Practice, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("parameters: ('C-1', 'Jane Roe')")

    monkeypatch.setattr(practice.lg.notes, "write", fail)
    monkeypatch.delenv("LEDGER_DEBUG", raising=False)
    with caplog.at_level(logging.INFO):
        response = practice.client.post("/v1/notes", json={"client": "C-1", "text": "x"},
                                        headers=practice.auth("dr-lee"))
    assert response.status_code == 500
    assert response.json() == {"type": "urn:ledger:problem:internal",
                               "title": "Internal Server Error", "status": 500}
    assert "Jane" not in caplog.text and "C-1" not in caplog.text
    assert "unexpected RuntimeError" in caplog.text


def test_a_file_the_server_cannot_write_is_503_without_its_path(
        practice: Practice, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", "/var/lib/ledger/checkpoints/main")

    monkeypatch.setattr(practice.lg.integrity, "checkpoint", fail)
    body = problem(practice.client.post("/v1/checkpoints", headers=practice.auth("admin")),
                   503, "server-files")
    assert body["detail"] == ("the server cannot read or write a file it needs (Permission "
                              "denied); nothing more was done")


def test_a_damaged_store_is_409_naming_the_damage(practice: Practice) -> None:
    engine = sa.create_engine(practice.lg.settings.main.url)
    with engine.begin() as conn:
        leaf = conn.execute(sa.text("SELECT leaf FROM ledger_chain WHERE position = 3")
                            ).scalar_one()
        conn.execute(sa.text("UPDATE ledger_chain SET leaf = :l WHERE position = 3"),
                     {"l": bytes([leaf[0] ^ 1]) + bytes(leaf[1:])})
    engine.dispose()
    body = problem(practice.client.get("/v1/verify", headers=practice.auth("comp")), 409,
                   "integrity-failure")
    assert str(body["detail"]).startswith("main: position 3 (notification id 3): edited")
    stores = body["stores"]
    assert [(s["store"], s["ok"]) for s in stores] == [  # type: ignore[attr-defined]
        ("main", False), ("psychotherapy", True), ("journal", True)]


def test_an_uninitialised_data_directory_stops_the_start(tmp_path: Path) -> None:
    app = create_app(load_settings(str(tmp_path / "none"), environ={}))
    with pytest.raises(NotInitialised, match="no key-encryption key"), TestClient(app):
        pass


def test_the_access_log_line_has_the_route_template_and_no_phi(
        practice: Practice, caplog: pytest.LogCaptureFixture) -> None:
    note = practice.lg.notes.write("C-1", "Session.", by="dr-lee", session_date=None,
                                   at=now())
    with caplog.at_level(logging.INFO, logger="api.access"):
        practice.client.get(f"/v1/notes/{note}?purpose=TREAT",
                            headers=practice.auth("dr-lee"))
        practice.client.post("/v1/access-log/search", json={"client": "C-1"},
                             headers=practice.auth("comp"))
        practice.client.get("/v1/no/such/C-1")
    lines = [r.getMessage() for r in caplog.records if r.name == "api.access"]
    assert [line.rsplit(" ", 1)[0] for line in lines] == [
        "GET /v1/notes/{note_id} 200", "POST /v1/access-log/search 200",
        "GET <no route> 404"]
    assert all(line.endswith("ms") for line in lines)
    assert not any(str(note) in line or "C-1" in line or "TREAT" in line for line in lines)


def test_initialise_is_the_only_set_up_the_app_needs(tmp_path: Path) -> None:
    settings = load_settings(str(tmp_path / "d"), environ={})
    initialise(settings, now())
    with TestClient(create_app(settings)) as client:
        assert client.get("/v1/staff").status_code == 401


def test_an_investigation_resting_on_nothing_is_409_with_its_report(
        practice: Practice) -> None:
    body = problem(practice.client.post("/v1/investigations/psychotherapy-releases", json={},
                                        headers=practice.auth("comp")), 409,
                   "integrity-failure")
    report = body["report"]
    assert report["verified"] is False and report["conclusion"] is None  # type: ignore[index]
    assert str(body["detail"]).startswith("main: no signed checkpoint")
