"""The disclosure guard, walked as tables: every exception code, every authorization state
and every recipient type, for psychotherapy notes and progress notes.

The expected sets below are written out by hand from regulation.md 1.2-1.8, not derived
from ledger.rules.disclosure, so a change to the guard's tables makes these tests fail.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from uuid import UUID, uuid4

import pytest

from ledger.aggregates.authorization import PSYCHOTHERAPY_NOTES
from ledger.aggregates.disclosure import Disclosure
from ledger.bootstrap import Ledger
from ledger.errors import BadInput, Refused
from ledger.rules import disclosure
from ledger.rules.disclosure import RECIPIENT_TYPES
from ledger.rules.roles import StaffView
from ledger.stores.clinical import ClinicalStore
from ledger.views import Release
from tests.conftest import all_events, seed

T0 = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
ALL_TYPES = sorted(RECIPIENT_TYPES)


def on(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T12:00:00+00:00")


# 164.508(a)(2): who may receive a psychotherapy note under each exception.
PN_EXCEPTION_RECIPIENTS: dict[str, set[str]] = {
    # A release to a workforce member is never a disclosure: they read it with pn show.
    "ORIGINATOR_TREATMENT": set(),  # a use by the originator, never a disclosure
    "SUPERVISED_TRAINING": {"training-program"},
    "DEFENSE_OF_ACTION_BY_INDIVIDUAL": {"attorney", "court"},
    "HHS_COMPLIANCE": {"hhs"},
    "REQUIRED_BY_LAW_512a": {"court", "law-enforcement", "oversight-agency", "hhs",
                             "public-health", "other"},
    "OVERSIGHT_OF_ORIGINATOR_512d": {"oversight-agency"},
    "CORONER_512g1": {"coroner"},
    "SERIOUS_THREAT_512j1i": {"threat-preventer", "law-enforcement", "provider", "individual",
                              "other"},
}
# Who invokes each (product choice): training by the originator or a supervisor, serious
# threat by the originator or compliance, the others by compliance (the privacy officer).
PN_EXCEPTION_ACTOR = {"SUPERVISED_TRAINING": "sup"}
PN_EXCEPTION_HOLDERS: dict[str, set[str]] = {
    "ORIGINATOR_TREATMENT": {"dr-lee"},
    "SUPERVISED_TRAINING": {"dr-lee", "sup"},
    "DEFENSE_OF_ACTION_BY_INDIVIDUAL": {"comp"},
    "HHS_COMPLIANCE": {"comp"},
    "REQUIRED_BY_LAW_512a": {"comp"},
    "OVERSIGHT_OF_ORIGINATOR_512d": {"comp"},
    "CORONER_512g1": {"comp"},
    "SERIOUS_THREAT_512j1i": {"dr-lee", "comp"},
}
# The purposes of use each exception is for (regulation.md 3.5's mapping).
PN_EXCEPTION_PURPOSES: dict[str, set[str]] = {
    "ORIGINATOR_TREATMENT": {"TREAT", "ETREAT", "ERTREAT"},
    "SUPERVISED_TRAINING": {"TRAIN"},
    "DEFENSE_OF_ACTION_BY_INDIVIDUAL": {"HLEGAL"},
    "HHS_COMPLIANCE": {"HCOMPL"},
    "REQUIRED_BY_LAW_512a": {"LEGAL", "HLEGAL"},
    "OVERSIGHT_OF_ORIGINATOR_512d": {"HCOMPL"},
    "CORONER_512g1": {"PUBHLTH"},
    "SERIOUS_THREAT_512j1i": {"THREAT"},
}
ASSERTED = "order 26-CV-1 of the Superior Court, 2026-01-10"
# regulation.md 1.8: the (a)(2)(ii) exceptions are accountable, the (a)(2)(i) ones not.
PN_ACCOUNTABLE = {"HHS_COMPLIANCE", "REQUIRED_BY_LAW_512a", "OVERSIGHT_OF_ORIGINATOR_512d",
                  "CORONER_512g1", "SERIOUS_THREAT_512j1i"}

RECORD_EXCEPTION_RECIPIENTS: dict[str, set[str]] = {
    "HHS_COMPLIANCE": {"hhs"},
    "REQUIRED_BY_LAW_512a": set(ALL_TYPES) - {"payer", "workforce"},
    "OVERSIGHT_512d": {"oversight-agency"},
    "JUDICIAL_512e": {"court", "attorney"},
    "LAW_ENFORCEMENT_512f": {"law-enforcement"},
    "CORONER_512g1": {"coroner"},
    "SERIOUS_THREAT_512j1i": {"threat-preventer", "law-enforcement", "provider", "individual",
                              "other"},
    "NATIONAL_SECURITY_512k2": {"other"},
    "CUSTODY_512k5": {"law-enforcement", "other"},
}
# 164.528(a)(1)(vi), (vii): national security and custody are not accountable.
RECORD_NOT_ACCOUNTABLE = {"NATIONAL_SECURITY_512k2", "CUSTODY_512k5"}


@pytest.fixture
def world(memory_lg: Ledger) -> World:
    return World(memory_lg)


class World:
    """Seeded stores, one psychotherapy note and one progress note for client C-1."""

    def __init__(self, lg: Ledger) -> None:
        self.lg = lg
        self.main, self.pn = lg.main, lg.pn
        seed(lg, T0)
        self.lg.clients.register("C-2", "John Doe", date(1980, 2, 2), "NY", by="desk", at=T0)
        self.pn_note = self.lg.psychotherapy.write("C-1", "PN text", by="dr-lee", session_date=None,
                                                   at=T0)
        self.note = self.lg.notes.write("C-1", "progress text", by="dr-lee",
                                        session_date=None, at=T0)

    def disclose_pn(self, *, at: datetime = T0, by: str = "comp", to: str = "Dr. Ray Park",
                    rtype: str = "provider", purpose: str = "TREAT",
                    authorization: UUID | None = None, exception: str | None = None,
                    client: str = "C-1") -> Release:
        return self.lg.psychotherapy.disclose(
            client, [self.pn_note], by=by, recipient=to, recipient_type=rtype, purpose=purpose,
            at=at, authorization_id=authorization, exception=exception,
            assertion=ASSERTED if exception else None)

    def disclose_note(self, *, at: datetime = T0, by: str = "comp", to: str = "Dr. Ray Park",
                      rtype: str = "provider", purpose: str = "TREAT",
                      authorization: UUID | None = None, exception: str | None = None
                      ) -> Release:
        return self.lg.notes.disclose("C-1", [self.note], by=by, recipient=to,
                                      recipient_type=rtype, purpose=purpose, at=at,
                                      authorization_id=authorization, exception=exception,
                                      assertion=ASSERTED if exception else None)

    def grant(self, *, client: str = "C-1",
              scopes: tuple[str, ...] = (PSYCHOTHERAPY_NOTES,), to: str = "Dr. Ray Park",
              rtype: str | None = "provider", expires: date | None = date(2026, 6, 30),
              expiry_event: str | None = None, at: datetime = T0) -> UUID:
        return self.lg.authorizations.grant(
            client, scopes, by="comp", recipient=to, recipient_type=rtype,
            purpose="continuity of care",
            expires=expires, expiry_event=expiry_event, signed_by="Jane Roe",
            signed_on=at.date(), representative_authority=None,
            description="session process notes", discloser="this practice",
            at=at).authorization_id

    def last_disclosure(self, store: ClinicalStore) -> Disclosure.Recorded:
        events = [e for e in all_events(store) if isinstance(e, Disclosure.Recorded)]
        return events[-1]


def outcome(attempt: Callable[[], Release]) -> tuple[bool, Release | str]:
    try:
        return True, attempt()
    except Refused as e:
        return False, str(e)


# ----- psychotherapy notes: every exception code x every recipient type -------------------


@pytest.mark.parametrize("code", sorted(PN_EXCEPTION_RECIPIENTS))
def test_pn_exception_codes_by_recipient_type(world: World, code: str) -> None:
    mismatches = []
    for rtype in ALL_TYPES:
        granted, result = outcome(lambda rtype=rtype: world.disclose_pn(
            exception=code, rtype=rtype, purpose=min(PN_EXCEPTION_PURPOSES[code]),
            by=PN_EXCEPTION_ACTOR.get(code, "comp")))
        expected = rtype in PN_EXCEPTION_RECIPIENTS[code]
        event = world.last_disclosure(world.pn)
        if granted != expected or event.outcome != ("granted" if expected else "denied"):
            mismatches.append((rtype, granted, result))
        if granted:
            assert isinstance(result, Release)
            assert result.notes[0].text == "PN text"
            assert result.accountable == (code in PN_ACCOUNTABLE)
            assert event.accountable == (code in PN_ACCOUNTABLE)
            assert event.legal_basis is not None and "164.508(a)(2)" in event.legal_basis
            assert event.exception == code
        else:
            assert event.reason and not event.accountable
    assert mismatches == []


@pytest.mark.parametrize("code", sorted(PN_EXCEPTION_RECIPIENTS))
@pytest.mark.parametrize("purpose", ["HPAYMT", "CLMATTCH", "COVERAGE"])
def test_a_payment_purpose_never_receives_a_pn_whatever_the_exception(
        world: World, code: str, purpose: str) -> None:
    with pytest.raises(Refused, match=r"^refused: a payer never receives a psychotherapy note"):
        world.disclose_pn(exception=code, rtype="oversight-agency", purpose=purpose)


def test_an_unknown_exception_code_is_a_recorded_refusal(world: World) -> None:
    with pytest.raises(Refused, match=r"^refused: SUBPOENA is not one of the 164.508"):
        world.disclose_pn(exception="SUBPOENA", rtype="attorney", purpose="LEGAL")
    assert world.last_disclosure(world.pn).exception == "SUBPOENA"


def test_no_basis_at_all_is_refused(world: World) -> None:
    with pytest.raises(Refused, match=r"^refused: only the originating clinician reads"):
        world.disclose_pn(by="dr-lee", rtype="provider", purpose="TREAT")


STAFF = ["dr-lee", "dr-kim", "sup", "comp", "bill", "desk", "admin", "ghost"]
RECIPIENT_FOR = {"SUPERVISED_TRAINING": "training-program",
                 "DEFENSE_OF_ACTION_BY_INDIVIDUAL": "attorney", "HHS_COMPLIANCE": "hhs",
                 "REQUIRED_BY_LAW_512a": "court", "OVERSIGHT_OF_ORIGINATOR_512d":
                 "oversight-agency", "CORONER_512g1": "coroner",
                 "SERIOUS_THREAT_512j1i": "threat-preventer"}


@pytest.mark.parametrize("code", sorted(RECIPIENT_FOR))
def test_who_may_release_a_pn_under_each_exception_and_for_which_purpose(
        world: World, code: str) -> None:
    """Every staff member x every purpose: granted exactly to the exception's holders, for
    its purposes, whatever recipient name they type (dr-lee originated the note)."""
    wrong = []
    for by in STAFF:
        for purpose in ["TREAT", "TRAIN", "HLEGAL", "LEGAL", "HCOMPL", "PUBHLTH", "THREAT",
                        "HOPERAT", "PATRQT"]:
            ok, result = outcome(lambda by=by, purpose=purpose: world.disclose_pn(
                by=by, exception=code, to="Me Myself", rtype=RECIPIENT_FOR[code],
                purpose=purpose))
            expected = by in PN_EXCEPTION_HOLDERS[code] and purpose in PN_EXCEPTION_PURPOSES[code]
            if ok != expected:
                wrong.append((by, purpose, result))
    assert wrong == []


@pytest.mark.parametrize(("by", "granted"), [
    ("dr-lee", True), ("dr-kim", False), ("sup", False), ("comp", True),
    ("bill", False), ("desk", False), ("admin", False), ("ghost", False)])
def test_who_may_release_a_pn_under_an_authorization(world: World, by: str,
                                                     granted: bool) -> None:
    """The originator or compliance: a clinician who did not write the note cannot obtain
    it by typing any recipient and authorization (issue 12, defect 1)."""
    auth = world.grant(rtype="provider")
    ok, result = outcome(lambda: world.disclose_pn(by=by, authorization=auth,
                                                   rtype="provider", at=on("2026-03-01")))
    assert ok == granted, result
    if by == "dr-kim":
        assert result == ("refused: only the note's originator or compliance may release a "
                          "psychotherapy note under an authorization (the attempt was "
                          "recorded)")


def test_the_reported_attack_is_refused_and_recorded(world: World) -> None:
    """issue 12: clin2 discloses another clinician's note to "Me Myself" as law
    enforcement under REQUIRED_BY_LAW_512a."""
    with pytest.raises(Refused, match=r"^refused: REQUIRED_BY_LAW_512a is invoked only by "
                       r"compliance staff \(the attempt was recorded\)$"):
        world.disclose_pn(by="dr-kim", to="Me Myself", rtype="law-enforcement",
                          purpose="LEGAL", exception="REQUIRED_BY_LAW_512a")
    event = world.last_disclosure(world.pn)
    assert event.outcome == "denied" and event.actor_id == "dr-kim"


def test_a_release_under_an_exception_says_what_was_asserted_and_by_whom(
        world: World) -> None:
    release = world.disclose_pn(by="comp", to="Superior Court", rtype="court",
                                purpose="LEGAL", exception="REQUIRED_BY_LAW_512a")
    event = world.last_disclosure(world.pn)
    assert (event.assertion, event.actor_id, event.actor_role) == (ASSERTED, "comp",
                                                                   "compliance")
    assert release.assertion == ASSERTED
    before = len(all_events(world.pn))
    with pytest.raises(BadInput, match=r"^a release under an exception states what was "
                       r"asserted: --assertion TEXT"):
        world.lg.psychotherapy.disclose("C-1", [world.pn_note], by="comp", recipient="Court",
                                        recipient_type="court", purpose="LEGAL", at=T0,
                                        exception="REQUIRED_BY_LAW_512a")
    assert len(all_events(world.pn)) == before  # malformed: nothing recorded


# ----- psychotherapy notes: every authorization state -------------------------------------


@pytest.mark.parametrize("named", ALL_TYPES)
def test_a_valid_authorization_releases_only_to_the_kind_of_recipient_it_names(
        world: World, named: str) -> None:
    if named == "payer":
        with pytest.raises(Refused, match=r"^refused: a payer never receives a psychotherapy"):
            world.grant(rtype=named)
        return
    auth = world.grant(rtype=named)
    results = {rtype: outcome(lambda rtype=rtype: world.disclose_pn(
        authorization=auth, rtype=rtype, purpose="PATRQT", at=on("2026-03-01")))[0]
               for rtype in ALL_TYPES}
    # A workforce member reads it themselves (pn show), never through a disclosure.
    assert results == {rtype: rtype == named != "workforce" for rtype in ALL_TYPES}


def test_an_authorization_release_is_not_accountable(world: World) -> None:
    auth = world.grant()
    release = world.disclose_pn(authorization=auth, at=on("2026-03-01"))
    assert (release.basis, release.accountable) == ("authorization", False)
    assert release.legal_basis == "45 CFR 164.508(a)(2)"


AUTH_STATES: list[tuple[str, str, str | None]] = [
    # (state, disclosure day, refusal reason or None when granted)
    ("valid", "2026-03-01", None),
    ("valid on its last day", "2026-06-30", None),
    ("expired by date", "2026-07-01", "the authorization expired on 2026-06-30"),
    ("not yet signed", "2026-01-14", "the authorization was not yet signed"),
]


@pytest.mark.parametrize(("state", "day", "refusal"), AUTH_STATES)
def test_authorization_dates(world: World, state: str, day: str, refusal: str | None) -> None:
    auth = world.grant()
    granted, result = outcome(lambda: world.disclose_pn(authorization=auth, at=on(day)))
    assert granted == (refusal is None), (state, result)
    if refusal:
        assert result == f"refused: {refusal} (the attempt was recorded)"


def test_revoked_before_the_disclosure(world: World) -> None:
    auth = world.grant()
    world.lg.authorizations.revoke(auth, date(2026, 2, 1), by="comp", at=on("2026-02-02"))
    with pytest.raises(Refused, match=r"^refused: the authorization was revoked "
                       r"\(received 2026-02-01\)"):
        world.disclose_pn(authorization=auth, at=on("2026-03-01"))


def test_revoked_after_the_disclosure_leaves_it_valid(world: World) -> None:
    """164.508(b)(5) reliance: the earlier release stays a granted event."""
    auth = world.grant()
    earlier = world.disclose_pn(authorization=auth, at=on("2026-03-01"))
    world.lg.authorizations.revoke(auth, date(2026, 4, 1), by="comp", at=on("2026-04-01"))
    with pytest.raises(Refused, match=r"revoked"):
        world.disclose_pn(authorization=auth, at=on("2026-04-02"))
    disclosures = [e for e in all_events(world.pn) if isinstance(e, Disclosure.Recorded)]
    assert [(e.originator_id, e.outcome) for e in disclosures] == [
        (earlier.disclosure_id, "granted"), (disclosures[1].originator_id, "denied")]
    # And a disclosure dated before the revocation's receipt is still covered.
    assert world.disclose_pn(authorization=auth, at=on("2026-03-31")).basis == "authorization"


def test_expiry_event(world: World) -> None:
    auth = world.grant(expires=None, expiry_event="end of treatment")
    assert world.disclose_pn(authorization=auth, at=on("2026-04-30")).basis == "authorization"
    world.lg.authorizations.record_expiry_event(auth, date(2026, 5, 1), by="comp",
                                                at=on("2026-05-01"))
    with pytest.raises(Refused, match=r"^refused: the authorization's expiry event occurred "
                       r"on 2026-05-01"):
        world.disclose_pn(authorization=auth, at=on("2026-05-02"))


def test_a_compound_authorization_is_refused_and_recorded(world: World) -> None:
    before = len(all_events(world.pn))
    with pytest.raises(Refused, match=r"^refused: a psychotherapy-note authorization may not "
                       r"be combined .*164.508\(b\)\(3\)\(ii\)"):
        world.grant(scopes=(PSYCHOTHERAPY_NOTES, "progress-notes"))
    events = all_events(world.pn)[before:]
    assert len(events) == 1
    assert (events[0].action, events[0].outcome) == ("authorize", "denied")  # type: ignore[attr-defined]


def test_wrong_recipient_and_a_recipient_spelled_differently(world: World) -> None:
    auth = world.grant()
    with pytest.raises(Refused, match=r"^refused: the authorization does not name this "
                       r"recipient"):
        world.disclose_pn(authorization=auth, to="Dr. Someone Else", at=on("2026-03-01"))
    assert world.disclose_pn(authorization=auth, to="  dr.  RAY park ",
                             at=on("2026-03-01")).basis == "authorization"


def test_wrong_client(world: World) -> None:
    other = world.grant(client="C-2")
    with pytest.raises(Refused, match=r"^refused: the authorization is for another client"):
        world.disclose_pn(authorization=other, at=on("2026-03-01"))
    with pytest.raises(Refused, match=r"^refused: a note named does not belong to this client"):
        world.disclose_pn(authorization=other, client="C-2", at=on("2026-03-01"))


def test_a_progress_note_authorization_never_covers_a_pn(world: World) -> None:
    record_auth = world.grant(scopes=("designated-record-set",), rtype=None)
    with pytest.raises(Refused, match=rf"^refused: authorization {record_auth} not found"):
        world.disclose_pn(authorization=record_auth, at=on("2026-03-01"))


def test_an_authorization_presented_to_a_payer_is_still_refused(world: World) -> None:
    auth = world.grant(to="Acme Health Plan", rtype="other")
    with pytest.raises(Refused, match=r"^refused: a payer never receives"):
        world.disclose_pn(authorization=auth, to="Acme Health Plan", rtype="payer",
                          purpose="COVERAGE", at=on("2026-03-01"))
    # Calling the recipient something else at disclosure time does not help: the
    # authorization names the kind of recipient, and only that kind receives.
    with pytest.raises(Refused, match=r"^refused: the authorization names another health "
                       r"care provider, not any other recipient"):
        world.disclose_pn(authorization=world.grant(rtype="provider"), rtype="other",
                          purpose="HOPERAT", at=on("2026-03-01"))


def test_a_pn_authorization_must_say_what_kind_of_recipient_it_names(world: World) -> None:
    with pytest.raises(BadInput, match=r"^a psychotherapy-note authorization needs "
                       r"--recipient-type$"):
        world.grant(rtype=None)


def test_a_workforce_member_never_gets_a_pn_through_a_disclosure(world: World) -> None:
    for code in ("SUPERVISED_TRAINING", "DEFENSE_OF_ACTION_BY_INDIVIDUAL"):
        with pytest.raises(Refused, match=r"^refused: a workforce member gets a psychotherapy "
                           r"note only as a use"):
            world.disclose_pn(by="dr-kim", to="dr-kim", rtype="workforce", purpose="TRAIN",
                              exception=code)


@pytest.mark.parametrize(("code", "by", "granted"), [
    ("SUPERVISED_TRAINING", "dr-lee", True), ("SUPERVISED_TRAINING", "sup", True),
    ("SUPERVISED_TRAINING", "dr-kim", False), ("SUPERVISED_TRAINING", "comp", False),
    ("DEFENSE_OF_ACTION_BY_INDIVIDUAL", "comp", True),
    ("DEFENSE_OF_ACTION_BY_INDIVIDUAL", "sup", False),
    ("DEFENSE_OF_ACTION_BY_INDIVIDUAL", "dr-lee", False),
])
def test_who_invokes_the_training_and_defense_exceptions(world: World, code: str, by: str,
                                                         granted: bool) -> None:
    rtype = "training-program" if code == "SUPERVISED_TRAINING" else "attorney"
    purpose = "TRAIN" if code == "SUPERVISED_TRAINING" else "HLEGAL"
    ok, _ = outcome(lambda: world.disclose_pn(by=by, rtype=rtype, purpose=purpose,
                                              exception=code))
    assert ok == granted


@pytest.mark.parametrize(("given", "stored"), [("coroner_512G1", "CORONER_512g1"),
                                               ("Coroner_512g1", "CORONER_512g1")])
def test_exception_codes_match_ignoring_case(world: World, given: str, stored: str) -> None:
    world.disclose_pn(exception=given, rtype="coroner", purpose="PUBHLTH")
    assert world.last_disclosure(world.pn).exception == stored


def test_a_malformed_exception_code_is_bad_input_and_never_stored(world: World) -> None:
    before = len(all_events(world.pn))
    with pytest.raises(BadInput, match=r"^an exception code is letters, digits and "):
        world.disclose_pn(exception="Jane Roe's subpoena", rtype="court", purpose="LEGAL")
    assert len(all_events(world.pn)) == before


def test_authorization_and_exception_together_are_refused(world: World) -> None:
    auth = world.grant()
    with pytest.raises(Refused, match=r"^refused: give an authorization or one exception"):
        world.disclose_pn(authorization=auth, exception="CORONER_512g1", rtype="coroner",
                          at=on("2026-03-01"))


# ----- progress notes ------------------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(RECORD_EXCEPTION_RECIPIENTS))
def test_record_exception_codes_by_recipient_type(world: World, code: str) -> None:
    mismatches = []
    for rtype in ALL_TYPES:
        granted, result = outcome(lambda rtype=rtype: world.disclose_note(
            exception=code, rtype=rtype, purpose="LEGAL"))
        if granted != (rtype in RECORD_EXCEPTION_RECIPIENTS[code]):
            mismatches.append((rtype, result))
        if granted:
            assert isinstance(result, Release)
            assert result.accountable == (code not in RECORD_NOT_ACCOUNTABLE)
    assert mismatches == []


@pytest.mark.parametrize(("purpose", "by", "rtype", "expected"), [
    ("TREAT", "dr-lee", "provider", "treatment"),
    ("TREAT", "dr-lee", "payer", None),
    ("TREAT", "bill", "provider", None),
    ("HPAYMT", "bill", "payer", "payment"),
    ("CLMATTCH", "bill", "payer", "payment"),
    ("HPAYMT", "dr-lee", "payer", None),
    ("HOPERAT", "comp", "attorney", "operations"),
    ("HOPERAT", "comp", "law-enforcement", None),
    ("HOPERAT", "comp", "court", None),
    ("HOPERAT", "comp", "individual", None),
    ("PATRQT", "dr-lee", "individual", "individual"),
    ("PWATRNY", "comp", "personal-representative", "individual"),
    ("PATRQT", "dr-lee", "payer", None),
    ("PATRQT", "bill", "individual", None),
    ("LEGAL", "comp", "court", None),
    ("HMARKT", "comp", "other", None),
    ("TREAT", "desk", "provider", None),
])
def test_progress_notes_without_authorization(world: World, purpose: str, by: str,
                                              rtype: str, expected: str | None) -> None:
    granted, result = outcome(lambda: world.disclose_note(purpose=purpose, by=by, rtype=rtype))
    assert granted == (expected is not None), result
    if expected is not None:
        assert isinstance(result, Release)
        assert (result.basis, result.accountable) == (expected, False)
        assert result.notes[0].text == "progress text"


def test_progress_notes_under_an_authorization(world: World) -> None:
    auth = world.grant(scopes=("progress-notes",), to="Law Office of P. Smith",
                       rtype=None)
    release = world.disclose_note(authorization=auth, to="Law Office of P. Smith",
                                  rtype="attorney", purpose="LEGAL", at=on("2026-03-01"))
    assert (release.basis, release.accountable) == ("authorization", False)
    pn_auth = world.grant()
    with pytest.raises(Refused, match=rf"^refused: authorization {pn_auth} not found"):
        world.disclose_note(authorization=pn_auth, at=on("2026-03-01"))


def test_the_disclosure_event_carries_the_164_528_fields(world: World) -> None:
    world.lg.notes.disclose(
        "C-1", [world.note], by="comp", recipient="County Coroner",
        recipient_address="1 Main St, Springfield", recipient_type="coroner",
        purpose="PUBHLTH", exception="CORONER_512g1", description="one progress note",
        assertion=ASSERTED, at=on("2026-02-03"))
    event = world.last_disclosure(world.main)
    assert event.timestamp == on("2026-02-03")
    assert (event.recipient, event.recipient_address) == ("County Coroner",
                                                          "1 Main St, Springfield")
    assert (event.description, event.purpose, event.legal_basis) == (
        "one progress note", "PUBHLTH", "45 CFR 164.512(g)(1)")
    assert (event.accountable, event.outcome, event.actor_id, event.actor_role) == (
        True, "granted", "comp", "compliance")
    assert event.items == [f"{world.note}@1"]


@pytest.mark.parametrize("recipient_type", sorted(RECIPIENT_TYPES))
@pytest.mark.parametrize("code", ["HHS_COMPLIANCE", "REQUIRED_BY_LAW_512a",
                                  "OVERSIGHT_OF_ORIGINATOR_512d", "CORONER_512g1",
                                  "SERIOUS_THREAT_512j1i"])
def test_a_use_under_a_disclosure_exception_is_refused_whatever_the_recipient_type(
        code: str, recipient_type: str) -> None:
    """The guard itself, not the service that fills in 'workforce' for a use: an
    (a)(2)(ii) exception never covers a use, even if a caller names an outside recipient."""
    client = uuid4()
    for role in ("clinician", "supervisor", "compliance"):
        ruling = disclosure.rule(disclosure.Request(
            actor=StaffView("someone", role, True), kind="psychotherapy-note",
            client_id=client, note_clients=frozenset({client}),
            originators=frozenset({"someone"}), recipient="someone",
            recipient_type=recipient_type, purpose="HOPERAT", at=on("2026-03-01"),
            exception=code, is_use=True))
        assert not ruling.granted, (role, code, recipient_type)
