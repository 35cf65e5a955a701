"""Data at rest: no clinical or identifying plaintext, and no key material, in stored bytes.

The raw-bytes scan runs on a SQLite data directory (every file under it: the database, its
WAL and shared-memory files, key files, heads), both while the ledger is open (content
still in the uncheckpointed WAL) and after it is closed. Positive controls prove the scan
finds what is there. The key checks (file modes, never overwritten, wrong KEK refused,
audit key separate from content keys, wrapped keys only) run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import os
import secrets
import stat
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.utils import get_topic
from sqlalchemy import select

from ledger.aggregates.audit import AuditEntry
from ledger.aggregates.authorization import PSYCHOTHERAPY_NOTES
from ledger.aggregates.client import Client
from ledger.aggregates.progress_note import ProgressNote
from ledger.aggregates.record_dates import RecordDates, record_dates_id
from ledger.aggregates.staff import StaffMember
from ledger.bootstrap import Ledger, initialise, open_ledger
from ledger.errors import KeyMaterialError, Refused
from ledger.keys.kek import load_kek
from ledger.keys.keyring import AUDIT_SUBJECT
from ledger.persistence.mapper import FORMAT
from ledger.primitives.crypto import CryptoError, unwrap_key
from ledger.settings import Settings
from ledger.stores.main import MainStore
from tests.conftest import AT, make_settings, seed

KEK_ENVS = ("LEDGER_KEK", "LEDGER_PN_KEK")
WRAPPED_BYTES = 12 + 32 + 16  # GCM nonce + 256-bit data key + GCM tag


@pytest.fixture(autouse=True)
def _no_kek_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The key files are the KEK source unless a test sets the variable itself."""
    for name in KEK_ENVS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Iterator[Settings]:
    gen = make_settings(tmp_path, "sqlite")
    s = next(gen)
    initialise(s, AT)
    yield s
    next(gen, None)


# ----- the scanner ---------------------------------------------------------------------


def files_under(root: Path) -> list[Path]:
    found = [Path(d) / f for d, _, names in os.walk(root) for f in names]
    return sorted(p for p in found if p.is_file())


def scan(root: Path, needles: dict[str, bytes]) -> dict[str, list[str]]:
    """For each needle that occurs in the raw bytes of some file under ``root``: where."""
    hits: dict[str, list[str]] = {}
    for path in files_under(root):
        data = path.read_bytes()
        for label, needle in needles.items():
            if needle in data:
                hits.setdefault(label, []).append(str(path.relative_to(root)))
    return hits


def marker(label: str) -> str:
    return f"{label}-{secrets.token_hex(12)}"


def random_date(start: date, days: int) -> date:
    return start + timedelta(days=secrets.randbelow(days))


# ----- the raw-bytes scan --------------------------------------------------------------


def test_scanner_finds_what_is_there(tmp_path: Path) -> None:
    """Positive control for the scanner itself: it must be able to fail."""
    needle = marker("canary")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "file.bin").write_bytes(b"\x00" * 5000 + needle.encode() + b"\xff")
    (tmp_path / "other").write_bytes(b"nothing here")
    assert scan(tmp_path, {"canary": needle.encode(), "absent": b"absent-needle"}) == {
        "canary": ["sub/file.bin"]}


def test_no_plaintext_or_key_material_in_stored_bytes(sqlite_settings: Settings) -> None:
    s = sqlite_settings
    root = s.data_dir
    lg = open_ledger(s)
    app = lg.main
    staff_name = marker("staff-name")
    client_ref = marker("client-ref")
    client_name = marker("client-name")
    dob = random_date(date(1920, 1, 1), 30 * 365)
    session = random_date(date(2025, 1, 1), 300)
    note_text = marker("note-text")
    amended_text = marker("amended-text")
    reason = marker("amend-reason")
    markers = {"staff name": staff_name, "client ref": client_ref, "client name": client_name,
               "date of birth": dob.isoformat(), "session date": session.isoformat(),
               "note text": note_text, "amended text": amended_text,
               "amendment reason": reason}
    try:
        lg.staff.add("admin", "Ada Admin", "admin", by=None, at=AT)
        lg.staff.add("clin", staff_name, "clinician", by="admin", at=AT)
        lg.clients.register(client_ref, client_name, dob, "CA", by="clin", at=AT)
        note_id = lg.notes.write(client_ref, f"Session notes: {note_text}", by="clin",
                                 session_date=session, at=AT)
        lg.notes.amend(note_id, f"Corrected: {amended_text}", f"because {reason}", by="clin",
                       at=AT)
        assert lg.notes.read(note_id, by="clin", purpose="TREAT", version=1,
                             at=AT).text == f"Session notes: {note_text}"
        lg.notes.list_notes(client_ref, by="clin", at=AT)

        needles = {k: v.encode("utf-8") for k, v in markers.items()}
        # Positive controls in the real store: plain metadata that *is* stored is found.
        client_subject = f"subject:{lg.client_id(client_ref)}"
        controls = {"topic": get_topic(ProgressNote.Amended).encode(),
                    "key subject": client_subject.encode()}

        # While open: the content is in the WAL, not yet checkpointed into main.sqlite.
        wal = root / "main.sqlite-wal"
        assert wal.exists() and wal.stat().st_size > 0, "expected an uncheckpointed WAL"
        names = {str(p.relative_to(root)) for p in files_under(root)}
        assert {"main.sqlite", "main.sqlite-wal", "keys/main.kek",
                "heads/main.json"} <= names, names
        assert scan(root, needles) == {}
        assert set(scan(root, controls)) == set(controls)
        assert "main.sqlite-wal" in scan(root, controls)["topic"]

        kek = load_kek(s.main)
        dek_needles = _data_keys(app, kek)
    finally:
        lg.close()

    # After close (checkpointed): still nothing, and the controls are in main.sqlite.
    assert scan(root, needles) == {}
    assert "main.sqlite" in scan(root, controls)["topic"]

    # No key material in any file but the KEK's own key file.
    kek_text = s.main.kek_file.read_text(encoding="ascii").strip()
    assert base64.b64decode(kek_text) == kek
    key_needles = {"kek": kek, "kek base64": kek_text.encode(), **dek_needles}
    hits = scan(root, key_needles)
    assert hits.pop("kek base64", None) == ["keys/main.kek"]
    assert hits == {}

    # A planted marker is found: the scan above could have failed.
    (root / "planted.txt").write_text(f"leaked {note_text}", encoding="utf-8")
    assert scan(root, needles) == {"note text": ["planted.txt"]}
    (root / "planted.txt").unlink()

    # And the content is really stored, readable with the key.
    lg = open_ledger(s)
    app = lg.main
    try:
        got = lg.notes.read(note_id, by="clin", purpose="TREAT", version=None, at=AT)
        assert (got.text, got.amendment_reason) == (f"Corrected: {amended_text}",
                                                    f"because {reason}")
        assert got.session_date == session.isoformat()
    finally:
        lg.close()


def _data_keys(app: MainStore, kek: bytes) -> dict[str, bytes]:
    """Every unwrapped data key of the store (to prove they are not stored in the clear)."""
    t = app.keyring.table.c
    with app.engine.connect() as conn:
        rows = conn.execute(select(t.key_id, t.subject, t.wrapped)).all()
    keys = {}
    for key_id, subject, wrapped in rows:
        dek = unwrap_key(kek, bytes(wrapped), UUID(hex=key_id).bytes)
        assert dek not in bytes(wrapped)
        keys[f"data key of {subject}"] = dek
    assert len(keys) == 2  # the audit key and the client's key
    return keys


# ----- key files ---------------------------------------------------------------------


def test_key_files_are_private_and_never_overwritten(tmp_path: Path) -> None:
    gen = make_settings(tmp_path, "sqlite")
    s = next(gen)
    first = initialise(s, AT)
    assert first.created_keys == ("main", "psychotherapy", "checkpoint-signing", "pseudonym")
    assert first.kept_keys == ()
    key_files = (s.main.kek_file, s.pn.kek_file, s.data_dir / "keys" / "checkpoint.key",
                 s.data_dir / "keys" / "pseudonym.key")
    for path in key_files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(s.data_dir.stat().st_mode) & 0o077 == 0
    assert stat.S_IMODE(s.main.kek_file.parent.stat().st_mode) & 0o077 == 0
    before = [p.read_bytes() for p in key_files]
    assert len(set(before)) == 4

    again = initialise(s, AT)
    assert again.created_keys == ()
    assert again.kept_keys == ("main", "psychotherapy", "checkpoint-signing", "pseudonym")
    assert [p.read_bytes() for p in key_files] == before
    for path in key_files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    next(gen, None)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_key_file_readable_by_others_is_refused(sqlite_settings: Settings, mode: int) -> None:
    path = sqlite_settings.main.kek_file
    path.chmod(mode)
    with pytest.raises(KeyMaterialError, match="accessible to other users"):
        open_ledger(sqlite_settings)
    path.chmod(0o600)
    open_ledger(sqlite_settings).close()


# ----- keys against a store (both backends) --------------------------------------------


def test_wrong_kek_is_refused_and_changes_nothing(settings: Settings,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    lg = open_ledger(settings)
    app = lg.main
    try:
        seed(lg)
        note_id = lg.notes.write("C-1", "some text", by="dr-lee", session_date=None, at=AT)
        events = app.verify(use_known_head=False).events
    finally:
        lg.close()

    monkeypatch.setenv("LEDGER_KEK", base64.b64encode(os.urandom(32)).decode("ascii"))
    wrong = open_ledger(settings)
    try:
        with pytest.raises(KeyMaterialError, match="does not match this store"):
            wrong.notes.read(note_id, by="dr-lee", purpose="TREAT", version=None, at=AT)
        with pytest.raises(KeyMaterialError, match="does not match this store"):
            wrong.notes.write("C-1", "more text", by="dr-lee", session_date=None, at=AT)
        with pytest.raises(KeyMaterialError, match="does not match this store"):
            wrong.main.keyring.check_kek(AT)
        # Verification needs no key, and nothing was appended by the refused calls.
        report = wrong.main.verify(use_known_head=False)
        assert report.ok
        assert report.events == events
    finally:
        wrong.close()
    with pytest.raises(KeyMaterialError, match="does not match this store"):
        initialise(settings, AT)

    monkeypatch.delenv("LEDGER_KEK")
    lg = open_ledger(settings)
    app = lg.main
    try:
        assert lg.notes.read(note_id, by="dr-lee", purpose="TREAT", version=None,
                             at=AT).text == "some text"
    finally:
        lg.close()


def test_audit_entries_are_sealed_under_the_audit_key(settings: Settings, lg: Ledger) -> None:
    app = lg.main
    seed(lg)
    lg.clients.register("C-2", "John Doe", date(1970, 2, 3), "NY", by="desk", at=AT)
    note_id = lg.notes.write("C-1", "text", by="dr-lee", session_date=None, at=AT)
    lg.notes.amend(note_id, "text 2", "typo", by="dr-lee", at=AT)
    lg.notes.read(note_id, by="dr-lee", purpose="TREAT", version=None, at=AT)
    other_note = lg.notes.write("C-2", "other", by="dr-lee", session_date=None, at=AT)
    assert other_note != note_id

    t = app.keyring.table.c
    events = app.event_log.events.c
    with app.engine.connect() as conn:
        keys = {UUID(hex=k): (subject, None if w is None else bytes(w))
                for k, subject, w in conn.execute(select(t.key_id, t.subject, t.wrapped))}
        stored = [(UUID(str(oid)), topic, bytes(state)) for oid, topic, state in
                  conn.execute(select(events.originator_id, events.topic, events.state)
                               .order_by(events.id))]
    by_subject = {subject: key_id for key_id, (subject, _) in keys.items()}
    c1, c2 = (f"subject:{lg.client_id(ref)}" for ref in ("C-1", "C-2"))
    assert set(by_subject) == {AUDIT_SUBJECT, c1, c2}
    assert len(set(by_subject.values())) == 3  # one key per subject, all different

    audit_topics = {get_topic(AuditEntry.Recorded), get_topic(StaffMember.Added)}
    client_topics = {get_topic(Client.Registered), get_topic(Client.NoteAttached)}
    note_topics = {get_topic(ProgressNote.Written), get_topic(ProgressNote.Amended),
                   get_topic(RecordDates.Recorded), get_topic(RecordDates.Amended)}
    client_of_note = {note_id: c1, other_note: c2, record_dates_id(note_id): c1,
                      record_dates_id(other_note): c2}
    assert {topic for _, topic, _ in stored} == audit_topics | client_topics | note_topics
    for originator_id, topic, state in stored:
        assert state[:1] == FORMAT
        assert len(state) > 1 + 16 + 12 + 16
        if topic in audit_topics:
            expected = AUDIT_SUBJECT
        elif topic in client_topics:
            expected = f"subject:{originator_id}"
        else:
            expected = client_of_note[originator_id]
        assert keys[UUID(bytes=state[1:17])][0] == expected, (topic, originator_id)

    # Only wrapped keys are stored; each is bound to its own key id.
    kek = load_kek(settings.main)
    for key_id, (_, wrapped) in keys.items():
        assert wrapped is not None
        assert len(wrapped) == WRAPPED_BYTES
        dek = unwrap_key(kek, wrapped, key_id.bytes)
        assert len(dek) == 32
        assert dek not in wrapped
    audit_id, client_id = by_subject[AUDIT_SUBJECT], by_subject[c1]
    with pytest.raises(CryptoError, match="authentication failed"):
        unwrap_key(kek, keys[audit_id][1] or b"", client_id.bytes)


# ----- invariant 3: nothing of a psychotherapy note in the main store ----------------------


def test_the_main_store_never_holds_psychotherapy_note_markers(
        sqlite_settings: Settings) -> None:
    s = sqlite_settings
    root = s.data_dir
    lg = open_ledger(s)
    pn = lg.pn
    try:
        seed(lg)
        pn_text, pn_amended = marker("pn-text"), marker("pn-amended")
        recipient = marker("pn-recipient")
        note_id = lg.psychotherapy.write("C-1", pn_text, by="dr-lee", session_date=None, at=AT)
        lg.psychotherapy.amend(note_id, pn_amended, marker("pn-reason"), by="dr-lee", at=AT)
        lg.psychotherapy.read(note_id, by="dr-lee", purpose="TREAT", at=AT)
        with pytest.raises(Refused, match="only the originating clinician reads a psychotherapy"):
            lg.psychotherapy.read(note_id, by="sup", purpose="TREAT", at=AT)
        auth = lg.authorizations.grant(
            "C-1", (PSYCHOTHERAPY_NOTES,), by="comp", recipient=recipient,
            recipient_type="provider", purpose="p",
            expires=date(2026, 12, 31), expiry_event=None, signed_by="Jane Roe",
            signed_on=AT.date(), representative_authority=None, description="d",
            discloser="this practice", at=AT).authorization_id
        lg.psychotherapy.disclose("C-1", [note_id], by="comp", recipient=recipient,
                                  recipient_type="provider", purpose="TREAT", authorization_id=auth,
                                  at=AT)
        with pytest.raises(Refused, match="a payer never receives a psychotherapy note"):
            lg.psychotherapy.disclose("C-1", [note_id], by="bill", recipient="Acme",
                                      recipient_type="payer", purpose="HPAYMT", at=AT)
        # A progress note written alongside, so the main store is not empty.
        lg.notes.write("C-1", "progress", by="dr-lee", session_date=None, at=AT)
        table = pn.event_log.events
        with pn.engine.connect() as conn:
            states = [bytes(r[0]) for r in conn.execute(select(table.c.state))]
        ciphertexts = {f"pn ciphertext {i}": st[17:49] for i, st in enumerate(states)}
        needles = {
            "pn text": pn_text.encode(), "pn amended": pn_amended.encode(),
            "recipient": recipient.encode(), "pn id": str(note_id).encode(),
            "pn id hex": note_id.hex.encode(), "pn id bytes": note_id.bytes,
            "auth id": str(auth).encode(), "auth id hex": auth.hex.encode(),
            "pn topic": b"psychotherapy", "pn class": b"Psychotherapy", **ciphertexts}
        main_files = [p for p in files_under(root) if p.name.startswith("main.sqlite")]
        pn_files = [p for p in files_under(root) if p.name.startswith("psychotherapy.sqlite")]
        assert main_files and pn_files
        for path in main_files:
            data = path.read_bytes()
            assert [label for label, n in needles.items() if n in data] == [], path.name
        # Positive control: the sealed store's files do hold the topics and the ids.
        pn_bytes = b"".join(p.read_bytes() for p in pn_files)
        assert b"psychotherapy_note:PsychotherapyNote.Written" in pn_bytes
        assert any(n in pn_bytes for n in (needles["pn id"], needles["pn id hex"],
                                           needles["pn id bytes"]))
        assert all(c in pn_bytes for c in ciphertexts.values())
        # And no plaintext in the sealed store either.
        assert not any(n in pn_bytes for n in (needles["pn text"], needles["pn amended"],
                                               needles["recipient"]))
    finally:
        lg.close()
