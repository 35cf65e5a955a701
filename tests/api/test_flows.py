"""The core flows over HTTP, on SQLite and on PostgreSQL: a clinician writes, amends and
reads; the releases go through the guard (a psychotherapy note's content is the response
body, the recipient's file); compliance reads the access log, the accounting, the record
set and the investigation; retention and holds; checkpoints, proofs and a bundle that
verifies offline with the public key alone."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from ledger.integrity.bundle import verify_bundle
from ledger.keys.signing import key_paths, load_public_key
from tests.api.conftest import Practice


def ok(response: object, status: int = 200) -> object:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    return response.json()  # type: ignore[attr-defined]


def test_notes_releases_and_reports(practice_on_each_backend: Practice) -> None:
    p = practice_on_each_backend
    c, lee, comp = p.client, p.auth("dr-lee"), p.auth("comp")
    note = ok(c.post("/v1/notes", json={"client": "C-1", "text": "PHQ-9 down to 9.",
                                        "session_date": "2026-01-14"}, headers=lee), 201)
    note_id = note["note"]  # type: ignore[index]
    again = ok(c.post("/v1/notes", json={"client": "C-1", "text": "PHQ-9 down to 9.",
                                         "session_date": "2026-01-14", "request_id": "r-1"},
                      headers=lee), 201)
    retried = ok(c.post("/v1/notes", json={"client": "C-1", "text": "PHQ-9 down to 9.",
                                           "session_date": "2026-01-14"},
                        headers={**lee, "Idempotency-Key": "r-1"}), 201)
    assert retried == again and again != note
    ok(c.post(f"/v1/notes/{note_id}/versions", json={"text": "PHQ-9 down to 8.",
                                                     "reason": "mis-added"}, headers=lee), 201)
    first = ok(c.get(f"/v1/notes/{note_id}", params={"purpose": "treat", "version": 1},
                     headers=lee))
    assert first["text"] == "PHQ-9 down to 9." and first["versions"] == 2  # type: ignore[index]
    listed = ok(c.post("/v1/notes/search", json={"client": "C-1"}, headers=lee))
    assert len(listed) == 2  # type: ignore[arg-type]

    released = ok(c.post("/v1/disclosures", headers={**lee, "Idempotency-Key": "d-1"}, json={
        "client": "C-1", "to": "Dr. Ray Park", "recipient_type": "provider",
        "purpose": "TREAT", "notes": [note_id]}), 201)
    assert released["request_id"] == "d-1"  # type: ignore[index]
    assert released["notes"][0]["text"] == "PHQ-9 down to 8."  # type: ignore[index]
    assert ok(c.post("/v1/disclosures", headers={**lee, "Idempotency-Key": "d-1"}, json={
        "client": "C-1", "to": "Dr. Ray Park", "recipient_type": "provider",
        "purpose": "TREAT", "notes": [note_id]}), 201) == released

    pn = ok(c.post("/v1/psychotherapy-notes", json={"client": "C-1", "text": "Process."},
                   headers=lee), 201)["psychotherapy_note"]  # type: ignore[index]
    own = ok(c.get(f"/v1/psychotherapy-notes/{pn}", params={"purpose": "TREAT"}, headers=lee))
    assert own["text"] == "Process."  # type: ignore[index]
    coroner = ok(c.post("/v1/disclosures", headers=comp, json={
        "client": "C-1", "to": "County Coroner", "recipient_type": "coroner",
        "purpose": "PUBHLTH", "psychotherapy_notes": [pn], "exception": "CORONER_512g1",
        "assertion": "ME's written request 26-114"}), 201)
    assert coroner["notes"][0]["text"] == "Process."  # type: ignore[index]  # the file
    assert coroner["accountable"] is True  # type: ignore[index]
    refused = c.post("/v1/disclosures", headers=p.auth("bill"), json={
        "client": "C-1", "to": "Acme Health Plan", "recipient_type": "payer",
        "purpose": "HPAYMT", "psychotherapy_notes": [pn], "exception": "CORONER_512g1",
        "assertion": "x"})
    assert refused.status_code == 403

    log = ok(c.post("/v1/access-log/search", json={"client": "C-1", "store": "pn",
                                                   "outcome": "denied"}, headers=comp))
    assert [r["actor_id"] for r in log] == ["bill"]  # type: ignore[index,union-attr]
    accounting = ok(c.post("/v1/accounting", json={"client": "C-1"}, headers=comp))
    assert [line["first"]["recipient"] for line in accounting["lines"]] == [  # type: ignore[index]
        "County Coroner"]
    record_set = ok(c.post("/v1/record-set", json={"client": "C-1"}, headers=comp))
    assert len(record_set["notes"]) == 2  # type: ignore[index,arg-type]
    request = ok(c.post("/v1/access-requests", json={"client": "C-1",
                                                     "received": "2026-01-20"}, headers=comp))
    assert request["due_on"] == "2026-02-19"  # type: ignore[index]
    ok(c.post("/v1/checkpoints", headers=comp), 201)  # what the report rests on
    report = ok(c.post("/v1/investigations/psychotherapy-releases", json={}, headers=comp))
    assert report["verified"] is True  # type: ignore[index]
    assert [e["kind"] for e in report["events"]].count("release") == 1  # type: ignore[index]


def test_authorizations_retention_and_holds(practice_on_each_backend: Practice) -> None:
    p = practice_on_each_backend
    c, comp, desk = p.client, p.auth("comp"), p.auth("desk")
    granted = ok(c.post("/v1/authorizations", headers=desk, json={
        "client": "C-1", "scopes": ["progress-notes"], "recipient": "Law Office",
        "purpose": "at the request of the individual", "expiry_event": "end of litigation",
        "signed_by": "Jane Roe", "signed_on": "2026-01-02"}), 201)
    auth = granted["authorization_id"]  # type: ignore[index]
    ok(c.post(f"/v1/authorizations/{auth}/revoke", json={"received": "2026-02-01"},
              headers=comp))
    listed = ok(c.post("/v1/authorizations/search", json={"client": "C-1"}, headers=comp))
    assert [a["status"] for a in listed] == ["revoked"]  # type: ignore[index,union-attr]

    ok(c.post("/v1/clients/episodes/open", headers=desk, json={
        "client": "C-1", "license": "lmft", "start": "2026-01-05"}))
    ok(c.post("/v1/clients/episodes/close", headers=desk, json={
        "client": "C-1", "end": "2026-06-30", "kind": "termination"}))
    explained = ok(c.post("/v1/retention/explain", json={"client": "C-1"}, headers=comp))
    assert explained["status"] == "retained" and explained["winner"]  # type: ignore[index]
    later = ok(c.post("/v1/retention/run", json={"dry_run": True, "at": "2099-01-01"},
                      headers=comp))
    assert [s["status"] for s in later] == ["due"]  # type: ignore[index,union-attr]
    hold = ok(c.post("/v1/holds", json={"matter": "Roe v. Clinic", "clients": ["C-1"],
                                        "reason": "litigation"}, headers=comp), 201)
    planned = ok(c.get("/v1/retention/plan", params={"at": "2099-01-01"}, headers=comp))
    assert [(s["client"], s["status"]) for s in planned] == [  # type: ignore[index,union-attr]
        ("C-1", "held")]
    assert ok(c.get("/v1/retention/plan", params={"at": "2099-01-01", "from_log": "true"},
                    headers=comp)) == planned
    dry = ok(c.post("/v1/retention/run", json={"dry_run": True, "at": "2099-01-01"},
                    headers=comp))
    assert [(s["client"], s["status"]) for s in dry] == [  # type: ignore[index,union-attr]
        ("C-1", "held")]
    ok(c.post(f"/v1/holds/{hold['hold_id']}/release", json={"reason": "settled"},  # type: ignore[index]
              headers=comp))
    assert ok(c.post("/v1/retention/run", json={}, headers=comp)) == []  # nothing due today


def test_checkpoints_proofs_and_a_bundle_that_verifies_offline(
        practice_on_each_backend: Practice, tmp_path: Path) -> None:
    p = practice_on_each_backend
    c, admin, comp = p.client, p.auth("admin"), p.auth("comp")
    assert ok(c.get("/v1/verify", headers=admin))["ok"] is True  # type: ignore[index]
    notes = ok(c.post("/v1/checkpoints", headers=admin), 201)
    size = notes[0]["size"]  # type: ignore[index]
    assert notes[0]["note"].startswith(notes[0]["origin"] + "\n")  # type: ignore[index]
    proof = ok(c.get("/v1/proofs/inclusion", params={"position": 2}, headers=comp))
    assert proof["verified"] and proof["size"] == size  # type: ignore[index]
    consistent = ok(c.get("/v1/proofs/consistency", params={"old": 1, "new": size},
                          headers=comp))
    assert consistent["new_root"] == notes[0]["root"]  # type: ignore[index]
    bundle = c.post("/v1/evidence-bundles", json={"client": "C-1"}, headers=comp)
    assert bundle.status_code == 200
    assert bundle.headers["content-type"] == "application/gzip"
    with tarfile.open(fileobj=io.BytesIO(bundle.content), mode="r:gz") as tar:
        tar.extractall(tmp_path, filter="data")
    public = load_public_key(key_paths(p.lg.settings.keys)[1])
    reports = verify_bundle(tmp_path / "evidence-bundle", public)
    assert [(r.store, r.ok, r.selected) for r in reports] == [
        ("main", True, True), ("psychotherapy", True, True)]
    leftovers = [x.name for x in p.lg.settings.data_dir.iterdir()
                 if x.name.startswith(".api-bundle-")]
    assert leftovers == []
