"""An imported note over HTTP: its original day beside its chain time, in the note, the
note lists of both stores and the record set."""

from __future__ import annotations

from pathlib import Path

from tests.api.conftest import Practice, now

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "history-2015.jsonl"


def ok(response: object) -> object:
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    return response.json()  # type: ignore[attr-defined]


def test_an_imported_note_carries_both_times(practice: Practice) -> None:
    p = practice
    p.lg.history_import.run(FIXTURE.read_bytes().splitlines(keepends=True), by="admin",
                            at=now())
    p.issue("dr-kim")
    lee, kim = p.auth("dr-lee"), p.auth("dr-kim")
    listed = ok(p.client.post("/v1/notes/search", json={"client": "H-2015"}, headers=lee))
    assert isinstance(listed, list)
    first = next(n for n in listed if n["original_written_on"] == "2015-02-03")
    assert first["author_id"] == "dr-lee" and first["written_at"].startswith("20")
    note = ok(p.client.get(f"/v1/notes/{first['note_id']}", params={"purpose": "TREAT"},
                           headers=lee))
    assert isinstance(note, dict)
    assert (note["original_written_on"], note["session_date"]) == ("2015-02-03", "2015-02-02")
    sealed = ok(p.client.post("/v1/psychotherapy-notes/search", json={"client": "H-2015"},
                              headers=kim))
    assert [n["original_written_on"] for n in sealed] == ["2017-03-06"]  # type: ignore[union-attr]
    written_here = ok(p.client.post("/v1/notes/search", json={"client": "C-1"}, headers=lee))
    assert all(n["original_written_on"] is None for n in written_here)  # type: ignore[union-attr]
