"""The disclosure guard: the one rule every use or release of a note goes through.

Pure functions, no I/O: the stores look up the facts (who acts, the notes, the
authorization) and record the ruling, granted or refused, as an event. Neither store
imports the other; both import this module. Sources: regulation.md 1.2-1.5 (164.508),
1.8 (164.528) and 3.5 (HL7 PurposeOfUse).

Who may release or use a note, and who may invoke each exception, is the roles table's
(ledger/rules/roles.py). Choices of this product (stated in the README, not law): which
recipient types each basis may go to, and that unknown or misapplied bases are refusals
(recorded) rather than input errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal
from uuid import UUID

from ledger.errors import BadInput
from ledger.rules import roles
from ledger.rules.roles import StaffView
from ledger.vocabulary import (
    COVERS_PROGRESS_NOTES,
    INDIVIDUAL,
    PAYMENT,
    PSYCHOTHERAPY_NOTES,
    RECIPIENT_TYPES,
    TREATMENT,
    purpose_group,
    same_recipient,
)

if TYPE_CHECKING:
    from ledger.aggregates.authorization import Authorization

Kind = Literal["progress-note", "psychotherapy-note"]
OUTSIDE = frozenset(RECIPIENT_TYPES) - {"workforce"}


@dataclass(frozen=True)
class Basis:
    """One legal basis for using or releasing a note without an authorization."""

    code: str
    citation: str
    recipients: frozenset[str]
    accountable: bool  # 164.528(a)(1): must it appear in an accounting of disclosures?
    use_only: bool = False
    note: str | None = None


# The closed set of 164.508(a)(2) exceptions (regulation.md 1.2). Accountability follows
# regulation.md 1.8: the (a)(2)(i) exceptions carry out TPO and are excluded by
# 164.528(a)(1)(i); the (a)(2)(ii) ones are not excluded, HHS included.
PN_EXCEPTIONS: dict[str, Basis] = {b.code: b for b in (
    Basis("ORIGINATOR_TREATMENT", "45 CFR 164.508(a)(2)(i)(A)", frozenset({"workforce"}),
          accountable=False, use_only=True),
    Basis("SUPERVISED_TRAINING", "45 CFR 164.508(a)(2)(i)(B)",
          frozenset({"workforce", "training-program"}), accountable=False),
    Basis("DEFENSE_OF_ACTION_BY_INDIVIDUAL", "45 CFR 164.508(a)(2)(i)(C)",
          frozenset({"workforce", "attorney", "court"}), accountable=False),
    Basis("HHS_COMPLIANCE", "45 CFR 164.508(a)(2)(ii); 164.502(a)(2)(ii)",
          frozenset({"hhs"}), accountable=True),
    # Unverified [K] in regulation.md 1.2: "required by law" (164.103) covers court-ordered
    # process; an attorney-issued subpoena (164.512(e)) is not in the exception list, so
    # an attorney is no recipient under this code.
    Basis("REQUIRED_BY_LAW_512a", "45 CFR 164.508(a)(2)(ii); 164.512(a)",
          frozenset({"court", "law-enforcement", "oversight-agency", "hhs", "public-health",
                     "other"}), accountable=True,
          note="164.103 'required by law' as read in regulation.md 1.2 [K, unverified]"),
    Basis("OVERSIGHT_OF_ORIGINATOR_512d", "45 CFR 164.508(a)(2)(ii); 164.512(d)",
          frozenset({"oversight-agency"}), accountable=True),
    Basis("CORONER_512g1", "45 CFR 164.508(a)(2)(ii); 164.512(g)(1)",
          frozenset({"coroner"}), accountable=True),
    Basis("SERIOUS_THREAT_512j1i", "45 CFR 164.508(a)(2)(ii); 164.512(j)(1)(i)",
          frozenset({"threat-preventer", "law-enforcement", "provider", "individual",
                     "other"}), accountable=True),
)}

# 164.512 (and HHS) bases for progress notes that regulation.md cites. Their own
# preconditions (e.g. 164.512(e)'s satisfactory assurances) are asserted by the staff
# member who records the disclosure, not checked here. Accountability: 164.528(a)(1)(vi)
# and (vii) exclude 512(k)(2) and 512(k)(5); the others are accountable.
RECORD_EXCEPTIONS: dict[str, Basis] = {b.code: b for b in (
    Basis("HHS_COMPLIANCE", "45 CFR 164.502(a)(2)(ii)", frozenset({"hhs"}), accountable=True),
    Basis("REQUIRED_BY_LAW_512a", "45 CFR 164.512(a)", OUTSIDE - {"payer"}, accountable=True),
    Basis("OVERSIGHT_512d", "45 CFR 164.512(d)", frozenset({"oversight-agency"}),
          accountable=True),
    Basis("JUDICIAL_512e", "45 CFR 164.512(e)", frozenset({"court", "attorney"}),
          accountable=True),
    Basis("LAW_ENFORCEMENT_512f", "45 CFR 164.512(f)", frozenset({"law-enforcement"}),
          accountable=True),
    Basis("CORONER_512g1", "45 CFR 164.512(g)(1)", frozenset({"coroner"}), accountable=True),
    Basis("SERIOUS_THREAT_512j1i", "45 CFR 164.512(j)(1)(i)",
          frozenset({"threat-preventer", "law-enforcement", "provider", "individual",
                     "other"}), accountable=True),
    Basis("NATIONAL_SECURITY_512k2", "45 CFR 164.512(k)(2)", frozenset({"other"}),
          accountable=False),
    Basis("CUSTODY_512k5", "45 CFR 164.512(k)(5)", frozenset({"law-enforcement", "other"}),
          accountable=False),
)}

TPO_RECIPIENTS: dict[str, frozenset[str]] = {
    "treatment": frozenset({"provider", "workforce"}),
    "payment": frozenset({"payer", "provider"}),
    # Operations stay inside the practice, with another covered entity, or with counsel
    # doing the practice's legal work; a court, police or an agency needs a 164.512 basis.
    "operations": frozenset({"workforce", "provider", "payer", "attorney"}),
}
PN_INTERNAL = frozenset({"workforce"})
_CODE = re.compile(r"[A-Za-z0-9_]{1,40}")


def check_exception_code(code: str | None) -> str | None:
    """The canonical spelling of an exception code, matched ignoring case. A well-formed
    unknown code is returned as given (the guard refuses it, and the refusal is recorded);
    anything else is malformed input and is never stored."""
    if code is None:
        return None
    if not _CODE.fullmatch(code):
        raise BadInput("an exception code is letters, digits and underscores, such as "
                       "CORONER_512g1")
    known = {c.upper(): c for c in (*PN_EXCEPTIONS, *RECORD_EXCEPTIONS)}
    return known.get(code.upper(), code)



def payer_problem(recipient_type: str | None, purpose: str | None = None) -> str | None:
    """This product's rule (DESIGN invariant 3): a payer never receives a psychotherapy
    note. 164.508(a)(2) has no payment exception and 164.508(b)(4)(ii)(B) forbids
    conditioning anything on a psychotherapy-note authorization."""
    if recipient_type == "payer" or purpose in PAYMENT:
        return "a payer never receives a psychotherapy note, whatever is presented"
    return None


AUTHORIZATION_CITATION = "45 CFR 164.508(a)(1)"
PN_AUTHORIZATION_CITATION = "45 CFR 164.508(a)(2)"


@dataclass(frozen=True)
class Request:
    """One use (recipient_type 'workforce', recipient = the actor) or disclosure."""

    actor: StaffView | None
    kind: Kind
    client_id: UUID
    note_clients: frozenset[UUID]
    originators: frozenset[str]
    recipient: str
    recipient_type: str
    purpose: str
    at: datetime
    authorization_id: UUID | None = None
    authorization: Authorization | None = None
    exception: str | None = None
    break_glass: bool = False
    is_use: bool = False


@dataclass(frozen=True)
class Ruling:
    granted: bool
    reason: str | None = None
    basis: str | None = None
    legal_basis: str | None = None
    accountable: bool = False


def refuse(reason: str) -> Ruling:
    return Ruling(False, reason)


def rule(request: Request) -> Ruling:
    """Grant or refuse ``request``; a refusal carries the one-line reason."""
    common = _common(request)
    if common is not None:
        return common
    if request.kind == "psychotherapy-note":
        return _psychotherapy(request)
    return _progress(request)


def _common(r: Request) -> Ruling | None:
    if r.actor is None:
        return refuse("unknown staff id")
    if not r.actor.active:
        return refuse("staff member is deactivated")
    if r.recipient_type not in RECIPIENT_TYPES:
        return refuse(f"unknown recipient type {r.recipient_type!r}")
    if r.note_clients - {r.client_id}:
        return refuse("a note named does not belong to this client")
    if r.authorization_id is not None and r.exception is not None:
        return refuse("give an authorization or one exception, not both")
    return None


def _authorized(r: Request, covers: frozenset[str], citation: str) -> Ruling:
    auth = r.authorization
    if auth is None:
        return refuse(f"authorization {r.authorization_id} not found")
    if auth.client_id != r.client_id:
        return refuse("the authorization is for another client")
    if not covers & set(auth.scopes):
        return refuse("the authorization does not cover "
                      + ("psychotherapy notes" if r.kind == "psychotherapy-note"
                         else "progress notes"))
    validity = auth.validity_at(r.at)
    if not validity.valid:
        return refuse(validity.reason or "the authorization is not valid")
    if not same_recipient(auth.recipient, r.recipient):
        return refuse("the authorization does not name this recipient")
    if auth.recipient_type is not None and auth.recipient_type != r.recipient_type:
        return refuse(f"the authorization names {RECIPIENT_TYPES[auth.recipient_type]}, not "
                      f"{RECIPIENT_TYPES[r.recipient_type]}")
    return Ruling(True, basis="authorization", legal_basis=citation, accountable=False)


# ----- psychotherapy notes ----------------------------------------------------------------

def _psychotherapy(r: Request) -> Ruling:
    assert r.actor is not None
    if r.break_glass:
        return refuse("break-the-glass never opens a psychotherapy note")
    if (problem := payer_problem(r.recipient_type, r.purpose)) is not None:
        return refuse(problem)
    if not roles.permits(roles.USE_PSYCHOTHERAPY, r.actor.role):
        return refuse(f"role {r.actor.role} may not use or disclose psychotherapy notes")
    if not r.is_use and r.recipient_type in PN_INTERNAL:
        return refuse("a workforce member gets a psychotherapy note only as a use: they read "
                      "it themselves with ledger pn show, which checks their own basis")
    if r.authorization_id is not None:
        if not r.is_use:  # who may release, whatever recipient and basis were typed
            for originator in sorted(r.originators):
                decision = roles.decide(r.actor, roles.RELEASE_PSYCHOTHERAPY,
                                        originator=originator)
                if not decision.granted:
                    return refuse(decision.reason or "refused")
        return _authorized(r, frozenset({PSYCHOTHERAPY_NOTES}), PN_AUTHORIZATION_CITATION)
    code = r.exception
    if code is None:
        if r.is_use and r.purpose in TREATMENT and r.originators == {r.actor.staff_id}:
            code = "ORIGINATOR_TREATMENT"
        else:
            return refuse("only the originating clinician reads a psychotherapy note for "
                          "treatment; anyone else needs a psychotherapy-note authorization "
                          "or a 164.508(a)(2) exception")
    basis = PN_EXCEPTIONS.get(code)
    if basis is None:
        return refuse(f"{code} is not one of the 164.508(a)(2) exceptions")
    if basis.use_only and not r.is_use:
        return refuse(f"{code} covers use by the originator only, never a disclosure")
    if r.recipient_type not in basis.recipients:
        return refuse(f"{code} does not permit release to {RECIPIENT_TYPES[r.recipient_type]}")
    if r.is_use and "workforce" not in basis.recipients:  # whatever recipient type is given
        return refuse(f"{code} permits a disclosure to an outside recipient; use ledger "
                      "disclose")
    # Who may invoke it, and for which purposes: the roles table.
    if (problem := roles.exception_problem(code, r.actor, r.originators, r.purpose)):
        return refuse(problem)
    return Ruling(True, basis="exception", legal_basis=basis.citation,
                  accountable=basis.accountable and not r.is_use)


# ----- progress notes ---------------------------------------------------------------------

def _progress(r: Request) -> Ruling:
    assert r.actor is not None
    if r.authorization_id is not None:
        if not roles.permits(roles.RELEASE, r.actor.role):
            return refuse(f"role {r.actor.role} may not release notes under an authorization")
        return _authorized(r, COVERS_PROGRESS_NOTES, AUTHORIZATION_CITATION)
    if r.exception is not None:
        if not roles.permits(roles.RELEASE, r.actor.role):
            return refuse(f"role {r.actor.role} may not release notes under a 164.512 basis")
        basis = RECORD_EXCEPTIONS.get(r.exception)
        if basis is None:
            return refuse(f"{r.exception} is not a known 164.512 basis")
        if r.recipient_type not in basis.recipients:
            return refuse(f"{r.exception} does not permit release to "
                          f"{RECIPIENT_TYPES[r.recipient_type]}")
        return Ruling(True, basis="exception", legal_basis=basis.citation,
                      accountable=basis.accountable)
    if r.purpose in INDIVIDUAL:
        if r.recipient_type not in {"individual", "personal-representative"}:
            return refuse(f"purpose {r.purpose} releases to the client or their personal "
                          "representative only")
        if not roles.permits(roles.RELEASE, r.actor.role):
            return refuse(f"role {r.actor.role} may not release notes to the client")
        # 164.528(a)(1)(ii): disclosures to the individual are not accountable.
        return Ruling(True, basis="individual", legal_basis="45 CFR 164.502(a)(1)(i); 164.524",
                      accountable=False)
    group = purpose_group(r.purpose)
    if group not in TPO_RECIPIENTS:
        return refuse(f"purpose {r.purpose} needs an authorization or a 164.512 basis")
    assert group is not None
    if not roles.permits(roles.READ_NOTE, r.actor.role, r.purpose):
        return refuse(f"role {r.actor.role} may not release notes for purpose {r.purpose}")
    if r.recipient_type not in TPO_RECIPIENTS[group]:
        return refuse(f"a {group} disclosure may not go to {RECIPIENT_TYPES[r.recipient_type]}")
    # 164.528(a)(1)(i): disclosures to carry out TPO are not accountable.
    return Ruling(True, basis=group, legal_basis="45 CFR 164.506(c)", accountable=False)
