"""Property: whatever random staff try, in whatever order, no psychotherapy-note content
reaches a payer, or anyone but its originator, without a basis that the rules give *that
actor* (whatever recipient name, recipient type and basis they type); every attempt the
rules allow is granted; and every attempt leaves an event in the sealed store (and nothing
at all in the main store).

The oracle below is a separate, plain model of the rules (authorizations as dates,
exceptions as recipient sets, holders and purposes from the hand-written tables of
test_disclosure_table), not the guard or the roles table itself. It
predicts each outcome, so a guard that refuses too much fails as surely as one that
releases too much; only a refusal or a missing note counts as a refusal, never an
arbitrary error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.aggregates.audit import AuditEntry
from ledger.aggregates.disclosure import Disclosure
from ledger.bootstrap import Ledger
from ledger.errors import BadInput, NotFound, Refused
from ledger.stores.store import Store
from ledger.vocabulary import PSYCHOTHERAPY_NOTES
from tests.conftest import all_events, open_memory_ledger, seed
from tests.unit.test_disclosure_table import (
    ASSERTED,
    PN_EXCEPTION_PURPOSES,
    PN_EXCEPTION_RECIPIENTS,
)

T0 = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
STAFF = ["dr-lee", "dr-kim", "sup", "bill", "desk", "comp", "admin", "ghost"]
ROLES = {"dr-lee": "clinician", "dr-kim": "clinician", "sup": "supervisor", "bill": "billing",
         "desk": "front-desk", "comp": "compliance", "admin": "admin"}
RECIPIENTS = [("Dr. Ray Park", "provider"), ("Acme Health Plan", "payer"),
              ("County Coroner", "coroner"), ("OCR Region IX", "hhs"),
              ("State Board", "oversight-agency"), ("Superior Court", "court"),
              ("P. Smith, Esq.", "attorney"), ("Jane Roe", "individual"),
              ("dr-kim", "workforce"), ("Training Program", "training-program"),
              ("Officer Doe", "law-enforcement"), ("County Health", "public-health"),
              ("Intended Victim", "threat-preventer"), ("Parent", "personal-representative"),
              ("Someone", "other"), ("Dr. Other Provider", "provider"),
              ("Dr. Ray Park", "other")]
PURPOSES = ["TREAT", "ETREAT", "TRAIN", "HLEGAL", "LEGAL", "HPAYMT", "COVERAGE", "HOPERAT",
            "PUBHLTH", "THREAT", "PATRQT", "HCOMPL"]
CODES = [*sorted(PN_EXCEPTION_RECIPIENTS), "MADE_UP"]
USE_EXCEPTIONS = {"ORIGINATOR_TREATMENT", "SUPERVISED_TRAINING",
                  "DEFENSE_OF_ACTION_BY_INDIVIDUAL"}
TREATMENT = {"TREAT", "ETREAT", "ERTREAT"}
# Who invokes each exception: (the note's originator?, these roles), as the README states.
INVOKED_BY: dict[str, tuple[bool, set[str]]] = {
    "ORIGINATOR_TREATMENT": (True, set()),
    "SUPERVISED_TRAINING": (True, {"supervisor"}),
    "DEFENSE_OF_ACTION_BY_INDIVIDUAL": (False, {"compliance"}),
    "HHS_COMPLIANCE": (False, {"compliance"}),
    "REQUIRED_BY_LAW_512a": (False, {"compliance"}),
    "OVERSIGHT_OF_ORIGINATOR_512d": (False, {"compliance"}),
    "CORONER_512g1": (False, {"compliance"}),
    "SERIOUS_THREAT_512j1i": (True, {"compliance"}),
}
PAYMENT = {"HPAYMT", "CLMATTCH", "COVERAGE"}

# Biased towards the interesting cases: the authorized recipient, and authorizations.
# Index 0 is the prelude's authorized recipient; 8 and 9 are the workforce member and the
# training program; 15 is another provider (same kind, other name) and 16 the same name as
# another kind of recipient.
recipient = st.one_of(st.just(0), st.sampled_from([8, 9, 15, 16]),
                      st.integers(0, len(RECIPIENTS) - 1))
basis = st.one_of(st.none(), st.tuples(st.just("auth"), st.integers(0, 5)),
                  st.tuples(st.just("auth"), st.integers(0, 5)),
                  st.tuples(st.just("exc"), st.sampled_from(CODES)))
# Attempts by people who may release, for purposes that are not payment: the cases where
# only the authorization or the exception decides. They keep the search dense.
releaser = st.sampled_from(["dr-lee", "dr-kim", "sup", "comp"])
not_payment = st.sampled_from([p for p in PURPOSES if p not in {"HPAYMT", "COVERAGE"}])
# An exception with one of its own purposes, so that the holder and purpose checks are
# reached often (a guard that drops either fails the property).
matched = st.sampled_from(sorted(PN_EXCEPTION_PURPOSES)).flatmap(
    lambda code: st.tuples(st.sampled_from(sorted(PN_EXCEPTION_PURPOSES[code])),
                           st.just(("exc", code))))
pointed = st.one_of(
    st.tuples(st.just("disclose"), releaser, st.integers(0, 5), recipient, not_payment,
              st.tuples(st.just("auth"), st.integers(0, 5))),
    matched.flatmap(lambda pb: st.tuples(st.just("disclose"), releaser, st.integers(0, 5),
                                         recipient, st.just(pb[0]), st.just(pb[1]))),
    matched.flatmap(lambda pb: st.tuples(st.just("read"), releaser, st.integers(0, 5),
                                         st.just(pb[0]), st.just(pb[1]))),
    st.tuples(st.just("disclose"), releaser, st.integers(0, 5), recipient, not_payment,
              st.tuples(st.just("exc"), st.sampled_from(CODES))),
    st.tuples(st.just("read"), releaser, st.integers(0, 5), not_payment,
              st.tuples(st.just("exc"), st.sampled_from(CODES))),
)
ops = st.one_of(
    pointed,
    st.tuples(st.just("write"), st.sampled_from(STAFF), st.sampled_from(["C-1", "C-2"])),
    st.tuples(st.just("read"), st.sampled_from(STAFF), st.integers(0, 5),
              st.sampled_from(PURPOSES), basis),
    st.tuples(st.just("disclose"), st.sampled_from(STAFF), st.integers(0, 5), recipient,
              st.sampled_from(PURPOSES), basis),
    st.tuples(st.just("grant"), st.sampled_from(["C-1", "C-2"]), recipient,
              st.integers(0, 60), st.booleans()),
    st.tuples(st.just("revoke"), st.integers(0, 5)),
    st.tuples(st.just("advance"), st.integers(1, 40)),
)


@dataclass
class Auth:
    id: UUID
    client: str
    recipient: str
    recipient_type: str
    signed: date
    expires: date
    revoked: date | None = None


@dataclass
class Model:
    # (id, client, author, text) of each note written
    notes: list[tuple[UUID, str, str, str]] = field(default_factory=list)
    auths: list[Auth] = field(default_factory=list)

    def valid_auth(self, auth_id: UUID | None, client: str, recipient: str, rtype: str,
                   day: date) -> bool:
        for a in self.auths:
            if a.id == auth_id:
                return (a.client == client and a.recipient.casefold() == recipient.casefold()
                        and a.recipient_type == rtype
                        and a.signed <= day <= a.expires
                        and (a.revoked is None or day < a.revoked))
        return False


def count(store: Store) -> int:
    return len(all_events(store))


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(ops, min_size=1, max_size=30))
def test_no_pn_content_without_a_valid_basis_and_every_attempt_recorded(
        script: list[tuple[object, ...]]) -> None:
    with open_memory_ledger() as lg:
        run(lg, script)


def run(lg: Ledger, script: list[tuple[object, ...]]) -> None:
    main, pn = lg.main, lg.pn
    seed(lg, T0)
    lg.clients.register("C-2", "John Doe", date(1980, 2, 2), "NY", by="desk", at=T0)
    main_events = count(main)
    model = Model()
    at = T0
    # A prelude so that every random attempt has something to aim at: two notes by
    # different clinicians for different clients, one authorization.
    prelude: list[tuple[object, ...]] = [("write", "dr-lee", "C-1"), ("write", "dr-kim", "C-2"),
                                         ("grant", "C-1", 0, 30, False)]
    for op in [*prelude, *script]:
        kind = op[0]
        before = count(pn)
        if kind == "advance":
            at += timedelta(days=int(op[1]))  # type: ignore[call-overload]
            continue
        if kind == "write":
            _, by, client = op
            try:
                note_id = lg.psychotherapy.write(str(client), f"pn-{uuid4().hex}", by=str(by),
                                                 session_date=None, at=at)
            except Refused:  # only those who may not write psychotherapy notes
                assert ROLES.get(str(by)) not in {"clinician", "supervisor"}, op
            else:
                assert ROLES.get(str(by)) in {"clinician", "supervisor"}, op
                text = lg.psychotherapy.read(note_id, by=str(by), purpose="TREAT", at=at).text
                model.notes.append((note_id, str(client), str(by), text))
        elif kind == "grant":
            _, client, r, days, compound = op
            name, rtype = RECIPIENTS[int(r)]  # type: ignore[call-overload]
            scopes = (PSYCHOTHERAPY_NOTES, "progress-notes") if compound else (
                PSYCHOTHERAPY_NOTES,)
            expires = at.date() + timedelta(days=int(days))  # type: ignore[call-overload]
            try:
                info = lg.authorizations.grant(
                    str(client), scopes, by="comp", recipient=name, recipient_type=rtype,
                    purpose="p",
                    expires=expires, expiry_event=None, signed_by="Jane Roe",
                    signed_on=at.date(), representative_authority=None, description="d",
                    discloser="this practice", at=at)
            except Refused:
                assert compound or rtype == "payer"
            else:
                assert not compound and rtype != "payer"
                model.auths.append(Auth(info.authorization_id, str(client), name, rtype,
                                        at.date(), expires))
        elif kind == "revoke":
            if not model.auths:
                continue
            auth = model.auths[int(op[1]) % len(model.auths)]  # type: ignore[call-overload]
            try:
                lg.authorizations.revoke(auth.id, at.date(), by="comp", at=at)
                auth.revoked = at.date()
            except BadInput:
                assert auth.revoked is not None  # only a second revocation fails
                continue  # malformed input saves nothing
        elif kind in ("read", "disclose"):
            attempt(lg, model, op, at)
        assert count(pn) > before, f"{kind} left no event"
    assert count(main) == main_events, "a psychotherapy-note action wrote to the main store"


def allowed(model: Model, kind: object, by: str, note: tuple[UUID, str, str, str] | None,
            recipient: str, rtype: str, purpose: str, auth_id: UUID | None,
            exception: str | None, day: date) -> bool:
    """The oracle: whether the rules (as the model states them) allow this attempt."""
    role = ROLES.get(by)
    if note is None or role is None:  # no such note; no such person
        return False
    _, client, author, _ = note
    if rtype == "payer" or purpose in PAYMENT:
        return False
    if role not in {"clinician", "supervisor", "compliance"}:
        return False
    if kind == "disclose" and rtype == "workforce":
        return False
    if auth_id is not None:
        # A use needs an authorization naming the reader; a release outside the practice
        # is made by the note's originator or compliance only.
        if kind == "disclose" and not (by == author or role == "compliance"):
            return False
        return model.valid_auth(auth_id, client, recipient, rtype, day)
    if exception is None:
        return kind == "read" and by == author and purpose in TREATMENT
    if exception not in PN_EXCEPTION_RECIPIENTS:
        return False
    if kind == "read" and exception not in USE_EXCEPTIONS:
        return False
    if kind == "disclose" and rtype not in PN_EXCEPTION_RECIPIENTS[exception]:
        return False
    originator_may, roles = INVOKED_BY[exception]
    if not ((originator_may and by == author) or role in roles):
        return False
    return purpose in PN_EXCEPTION_PURPOSES[exception]


def attempt(lg: Ledger, model: Model, op: tuple[object, ...], at: datetime) -> None:
    if op[0] == "read":
        _, by, n, purpose, chosen = op
        recipient, rtype = str(by), "workforce"
    else:
        _, by, n, r, purpose, chosen = op
        recipient, rtype = RECIPIENTS[int(r)]  # type: ignore[call-overload]
    note = model.notes[int(n) % len(model.notes)] if model.notes else None  # type: ignore[call-overload]
    note_id, client, _, text = note or (uuid4(), "C-1", "nobody", "")
    auth_id = exception = None
    if isinstance(chosen, tuple) and chosen[0] == "auth":
        auth_id = (model.auths[int(chosen[1]) % len(model.auths)].id if model.auths
                   else uuid4())
    elif isinstance(chosen, tuple):
        exception = str(chosen[1])
    expected = allowed(model, op[0], str(by), note, recipient, rtype, str(purpose), auth_id,
                       exception, at.date())
    try:
        if op[0] == "read":
            content = lg.psychotherapy.read(note_id, by=str(by), purpose=str(purpose), at=at,
                                            authorization_id=auth_id, exception=exception)
            released = [content.text]
        else:
            release = lg.psychotherapy.disclose(
                client, [note_id], by=str(by), recipient=recipient, recipient_type=rtype,
                purpose=str(purpose), at=at, authorization_id=auth_id, exception=exception,
                assertion=ASSERTED if exception else None)
            released = [c.text for c in release.notes]
    except (Refused, NotFound):  # a refusal, or no such note: both recorded
        assert not expected, f"refused although the rules allow it: {op}"
        assert_recorded(lg.pn, op[0], granted=False)
        return
    # The property, both ways: a release rests on a basis the model recognises, and
    # every attempt the model allows is granted (a guard that refuses too much fails).
    assert expected, f"released without a basis the rules recognise: {op}"
    assert rtype != "payer" and purpose not in PAYMENT, "a payer received a psychotherapy note"
    assert_recorded(lg.pn, op[0], granted=True)
    assert released == [text]


def assert_recorded(pn: Store, kind: object, *, granted: bool) -> None:
    last = all_events(pn)[-1]
    if kind == "read" or not isinstance(last, Disclosure.Recorded):
        assert isinstance(last, AuditEntry.Recorded)
        assert last.action in ("access", "disclose")
        assert (last.outcome == "granted") == granted
    else:
        assert (last.outcome == "granted") == granted
