"""The console's client timeline and investigator's report, through starlette's TestClient:
the client only in form bodies, the verification first, "no release" then the release
named, the evidence bundle downloaded and recorded, refusals and missing tokens."""

from __future__ import annotations

import io
import re
import tarfile

from ledger.aggregates.audit import AuditEntry
from ledger.queries import Query
from tests.api.conftest import Practice, now
from tests.conftest import PN_ASSERTION, audit_entries
from tests.console.conftest import csrf_of, sign_in


def signed_in(p: Practice, who: str) -> str:
    """Sign ``who`` in; the form token of their session, from the home page."""
    sign_in(p, who)
    home = p.client.get("/console/")
    assert "Signed in as" in home.text
    return csrf_of(home.text)


def text_of(html: str) -> str:
    """The page's words, without tags (what a reader sees)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def history(p: Practice) -> None:
    lg = p.lg
    note = lg.notes.write("C-1", "slept badly", by="dr-lee", session_date=None, at=now())
    lg.notes.read(note, by="dr-kim", purpose="TREAT", at=now(),
                  break_glass_reason="client in crisis")
    lg.psychotherapy.write("C-1", "process", by="dr-lee", session_date=None, at=now())


def test_the_timeline_is_a_form_post_with_a_chart_and_the_events(practice: Practice) -> None:
    history(practice)
    csrf = signed_in(practice, "comp")
    form = practice.client.get("/console/clients/timeline")
    assert form.status_code == 200 and 'name="client"' in form.text
    page = practice.client.post("/console/clients/timeline",
                                data={"csrf": csrf, "client": "C-1", "from": "", "to": ""})
    assert page.status_code == 200
    assert "C-1" not in str(page.url)
    assert '<svg xmlns="http://www.w3.org/2000/svg" role="img"' in page.text
    words = text_of(page.text)
    for kind in ("registration", "origination", "break-the-glass"):
        assert f" {kind} " in words
    assert "slept" not in page.text and "crisis" not in page.text and "Jane" not in page.text
    # The reading was recorded in both stores, as a list of the client's timeline.
    readings = [e for store in (practice.lg.main, practice.lg.pn) for e in audit_entries(store)
                if isinstance(e, AuditEntry.Recorded) and e.object_type == "timeline"]
    assert [(e.actor_id, e.outcome, e.client_id) for e in readings] == [
        ("comp", "granted", practice.lg.client_id("C-1"))] * 2


def test_a_clinician_is_refused_the_timeline_and_the_refusal_is_logged(
        practice: Practice) -> None:
    csrf = signed_in(practice, "dr-lee")
    page = practice.client.post("/console/clients/timeline",
                                data={"csrf": csrf, "client": "C-1"})
    assert page.status_code == 403
    assert "role clinician may not read the timeline" in page.text
    assert practice.refusals("dr-lee") == 1


def test_an_unknown_client_and_a_missing_token(practice: Practice) -> None:
    csrf = signed_in(practice, "comp")
    missing = practice.client.post("/console/clients/timeline",
                                   data={"csrf": csrf, "client": "C-404"})
    assert missing.status_code == 404 and "client not found" in missing.text
    forged = practice.client.post("/console/clients/timeline", data={"client": "C-1"})
    assert forged.status_code == 403 and "security token" in forged.text


def test_the_report_shows_verification_first_then_no_release_then_names_one(
        practice: Practice) -> None:
    lg = practice.lg
    history(practice)
    lg.integrity.checkpoint(at=now())
    signed_in(practice, "comp")
    page = practice.client.get("/console/investigation")
    assert page.status_code == 200, page.text
    words = text_of(page.text)
    assert words.index("Verification of each store") < words.index(
        "Psychotherapy-note events") < words.index("Conclusion") < words.index(
        "Evidence bundle")
    assert page.text.count('<span class="ok">verified</span>') == 2
    assert "NOT verified" not in words
    assert ("No release: no psychotherapy note was released to anyone other than its "
            "originator.") in words
    assert 'class="marker marker-break-the-glass"' in page.text

    pn_note = lg.psychotherapy.list_notes("C-1", by="dr-lee", at=now())[0].note_id
    lg.psychotherapy.disclose("C-1", [pn_note], by="comp", recipient="County Coroner",
                              recipient_type="coroner", purpose="PUBHLTH",
                              exception="CORONER_512g1", assertion=PN_ASSERTION[1], at=now())
    lg.integrity.checkpoint(at=now())
    after = text_of(practice.client.get("/console/investigation").text)
    assert "No release" not in after
    assert "1 release of psychotherapy notes to someone other than the originator" in after
    assert (f"comp (compliance) released psychotherapy note {pn_note}@1 to County Coroner "
            "(coroner), for purpose PUBHLTH, on the basis: CORONER_512g1") in after


def test_the_period_filter_and_the_evidence_download(practice: Practice) -> None:
    lg = practice.lg
    history(practice)
    lg.integrity.checkpoint(at=now())
    csrf = signed_in(practice, "comp")
    today = now().date().isoformat()
    page = practice.client.post("/console/investigation",
                                data={"csrf": csrf, "from": today, "to": today})
    assert page.status_code == 200
    assert f"Period: {today} to {today}." in text_of(page.text)
    bundle = practice.client.post("/console/investigation/evidence",
                                  data={"csrf": csrf_of(page.text), "from": today,
                                        "to": today})
    assert bundle.status_code == 200, bundle.text
    assert bundle.headers["content-type"] == "application/gzip"
    with tarfile.open(fileobj=io.BytesIO(bundle.content), mode="r:gz") as tar:
        assert any(n.startswith("evidence-bundle/") for n in tar.getnames())
    exports = lg.audit.access_log(by="admin", at=now(), query=Query(staff_id="comp"))
    assert [(r.action, r.object_type, r.outcome) for r in exports
            if r.action == "export"] == [("export", "evidence-bundle", "granted")]
    refused = practice.client.post("/console/investigation/evidence", data={"from": today})
    assert refused.status_code == 403


def test_a_period_that_ends_before_it_starts_is_bad_input_422(practice: Practice) -> None:
    csrf = signed_in(practice, "comp")
    page = practice.client.post("/console/investigation",
                                data={"csrf": csrf, "from": "2026-02-02", "to": "2026-02-01"})
    assert page.status_code == 422
    assert "the first day is after the last day" in page.text
    bad = practice.client.post("/console/clients/timeline",
                               data={"csrf": csrf, "client": "C-1", "from": "2026-02-30"})
    assert bad.status_code == 422 and "the first day" in bad.text
