"""The console's integrity page: each store's latest signed checkpoint (only once its
signature verifies) and its age, the scheduler's last verification and whether it runs,
and "Verify now" naming the first bad position of a tampered store; refused, and the
refusal recorded, for a clinician."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from jobs.heartbeat import heartbeats
from ledger.settings import Settings
from tests.api.conftest import Practice, now, open_practice
from tests.console.signing_in import sign_in

MID = 5  # a position inside the seeded main store


@pytest.fixture
def practice(settings: Settings) -> Iterator[Practice]:
    """On SQLite and on PostgreSQL: the page reads the checkpoint table's latest row."""
    yield from open_practice(settings)


def row(html: str, table: str, store: str) -> str:
    part = html[html.index(f'<table id="{table}"'):]
    part = part[part.index(f'<tr data-store="{store}">'):]
    return part[:part.index("</tr>")]


def verify_now(practice: Practice, token: str) -> str:
    page = practice.client.post("/console/integrity/verify", data={"csrf": token})
    assert page.status_code == 200
    return page.text


@pytest.mark.parametrize("who", ["comp", "admin"])
def test_the_signed_checkpoint_is_shown_verified_with_its_age(practice: Practice,
                                                              who: str) -> None:
    sign_in(practice, who)
    html = practice.client.get("/console/integrity").text
    assert "no verified checkpoint</span>: no signed checkpoint yet" in row(
        html, "checkpoints", "main")
    (main, _), _ = practice.lg.integrity.checkpoint(at=now())
    html = practice.client.get("/console/integrity").text
    shown = row(html, "checkpoints", "main")
    assert "signature verified" in shown and f"<td>{main.size}</td>" in shown
    assert f"{main.root.hex()[:16]}…" in shown
    assert "under a minute" in shown or "1 minute" in shown
    assert "signature verified" in row(html, "checkpoints", "psychotherapy")
    assert 'role="alert"' not in html


def test_an_edited_checkpoint_table_is_not_shown_as_the_verified_checkpoint(
        practice: Practice) -> None:
    lg = practice.lg
    (main, _), _ = lg.integrity.checkpoint(at=now())
    forged_root = bytes(32)
    t = lg.main.checkpoints.table
    with lg.main.engine.begin() as conn:  # an insider with database access, no signing key
        conn.execute(t.update().values(size=main.size + 40, root=forged_root))
    sign_in(practice, "comp")
    html = practice.client.get("/console/integrity").text
    shown = row(html, "checkpoints", "main")
    assert "signature verified" in shown and f"<td>{main.size}</td>" in shown
    assert f"<td>{main.size + 40}</td>" not in shown and forged_root.hex()[:16] not in shown
    assert ('role="alert">Main record: the database&#39;s checkpoint table says size '
            f"{main.size + 40} with root 0000000000000000…, which the signed checkpoint "
            "does not: the table was edited") in html


def test_verify_now_is_ok_then_names_the_first_bad_position(practice: Practice) -> None:
    token = sign_in(practice, "comp")
    html = verify_now(practice, token)
    for store in ("main", "psychotherapy", "journal"):
        assert '<span class="ok">ok</span>' in row(html, "verify-result", store)
    lg = practice.lg
    events = lg.main.event_log.events
    with lg.main.engine.begin() as conn:  # one stored event edited (tests/integration/...tamper)
        state = conn.execute(sa.select(events.c.state).where(events.c.id == MID)).scalar_one()
        flipped = bytearray(state)
        flipped[20] ^= 1
        conn.execute(events.update().where(events.c.id == MID).values(state=bytes(flipped)))
    html = verify_now(practice, token)
    main = row(html, "verify-result", "main")
    assert f"DAMAGED at position {MID}</span>" in main
    assert "edited: stored event does not match its chain leaf" in main
    assert '<span class="ok">ok</span>' in row(html, "verify-result", "psychotherapy")


def test_verify_now_without_the_form_token_does_nothing(practice: Practice) -> None:
    sign_in(practice, "comp")
    page = practice.client.post("/console/integrity/verify", data={"csrf": "forged"})
    assert page.status_code == 403 and "This form was not accepted" in page.text
    assert 'id="verify-result"' not in page.text


def test_the_scheduler_and_its_last_verification_are_shown(practice: Practice) -> None:
    sign_in(practice, "comp")
    html = practice.client.get("/console/integrity").text
    assert "<dt>State</dt><dd><span class=\"bad\">never started</span>" in html
    settings, start = practice.lg.settings, now()
    with heartbeats(settings.main.url, settings.main.schema) as beats:
        beats.create()
        beats.scheduler_started(at=start, pid=9)
        beats.started("verification", at=start, pid=9)
        beats.ended("verification", at=start + timedelta(seconds=1), pid=9,
                    error="IntegrityFailure")
        beats.alive(at=start + timedelta(seconds=1), pid=9)
    html = practice.client.get("/console/integrity").text
    assert '<dt>State</dt><dd><span class="ok">running</span>' in html
    last = html[html.index('id="last-verification"'):]
    last = last[:last.index("</dl>")]
    assert '<span class="bad">failed</span> (damage found)' in last
    assert (start + timedelta(seconds=1)).isoformat(timespec="seconds") in last


def test_a_clinician_is_refused_and_the_refusal_is_recorded(practice: Practice) -> None:
    before = practice.refusals("dr-lee")
    sign_in(practice, "dr-lee")
    page = practice.client.get("/console/integrity")
    assert page.status_code == 403
    assert "refused: role clinician may not open the integrity page" in page.text
    assert practice.refusals("dr-lee") == before + 1


def test_an_altered_exported_note_is_not_shown_as_verified(practice: Practice) -> None:
    lg = practice.lg
    lg.integrity.checkpoint(at=now())
    (note,) = sorted((lg.settings.checkpoints / "main").glob("*.note"))
    lines = note.read_text("utf-8").split("\n")
    lines[1] = str(int(lines[1]) + 40)  # the size, without the signing key
    note.write_text("\n".join(lines), "utf-8")
    sign_in(practice, "comp")
    shown = row(practice.client.get("/console/integrity").text, "checkpoints", "main")
    assert "signature verified" not in shown
    assert "no verified checkpoint</span>: " in shown
    assert "no valid signature by this key" in shown
