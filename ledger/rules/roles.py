"""Who may do what: every rule of the product's access policy, as data, with its basis.

One table. Each :class:`Rule` names an action, the roles that may take it (and for which
purposes of use, where purposes matter), whether a role may act on records another person
originated, the one-line refusal, and the basis: a citation (regulation.md) or, where the
law leaves the choice to the practice, the product's choice and why. The psychotherapy-note
exceptions of 164.508(a)(2) say who may invoke each. The services and the disclosure guard
ask :func:`decide` (or :func:`permits`); nothing else decides "who may". The README's
access-rules tables are rendered from here (:func:`markdown`), and a test keeps them equal.

Pure data and functions: no I/O, cheap to import.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ledger.vocabulary import ROLES, TREATMENT


@dataclass(frozen=True)
class StaffView:
    """What the policy needs to know of the acting person (None when unknown)."""

    staff_id: str
    role: str
    active: bool


@dataclass(frozen=True)
class Decision:
    granted: bool
    reason: str | None = None


GRANTED = Decision(True)


@dataclass(frozen=True)
class Rule:
    """One line of the table.

    ``roles`` maps each role that may take the action to the purposes of use it may take it
    for (None: no purpose is involved). ``others``, when set, are the roles that may act on
    a record someone else originated; the rest act on their own records only.
    ``refusal`` may name ``{role}``, ``{purpose}`` and the caller's ``{what}``."""

    action: str
    does: str
    roles: Mapping[str, frozenset[str] | None]
    refusal: str
    basis: str
    others: frozenset[str] | None = None
    others_refusal: str | None = None

    def may(self, role: str, purpose: str | None = None) -> bool:
        if role not in self.roles:
            return False
        purposes = self.roles[role]
        return purposes is None or purpose in purposes


def _everyone(purposes: frozenset[str] | None = None) -> dict[str, frozenset[str] | None]:
    return dict.fromkeys(ROLES, purposes)


def _plain(*roles: str) -> dict[str, frozenset[str] | None]:
    return dict.fromkeys(roles, None)


MINIMUM_NECESSARY = "45 CFR 164.502(b), 164.514(d) (minimum necessary)"

READ_NOTE = Rule(
    "progress-note.read", "read progress-note content, for these purposes",
    {"clinician": frozenset({"TREAT", "ETREAT"}),
     "supervisor": frozenset({"TREAT", "ETREAT", "HOPERAT", "TRAIN", "HQUALIMP"}),
     "billing": frozenset({"HPAYMT", "CLMATTCH", "COVERAGE"}),
     "compliance": frozenset({"HOPERAT", "HCOMPL", "HLEGAL", "HQUALIMP", "HACCRED"})},
    "role {role} may not read notes for purpose {purpose}",
    f"{MINIMUM_NECESSARY}: each role reads content only for the purposes its job needs "
    "(the pairs are this product's choice)")
LIST_NOTES = Rule(
    "progress-note.list", "list a client's progress notes (ids, dates, no content)",
    _plain(*(role for role, purposes in READ_NOTE.roles.items() if purposes)),
    "role {role} may not list clinical notes",
    "the roles that read notes for some purpose (product choice)")
WRITE_NOTE = Rule(
    "progress-note.write", "write progress notes",
    _plain("clinician", "supervisor"), "role {role} may not write clinical notes",
    "the mental-health professionals who treat (product choice)")
AMEND_NOTE = Rule(
    "progress-note.amend", "amend a progress note (a new version; none is altered)",
    _plain("clinician", "supervisor"), "role {role} may not write clinical notes",
    "its author, or a supervisor (product choice); an amendment appends and links, "
    "45 CFR 164.526(c)",
    others=frozenset({"supervisor"}),
    others_refusal="only the note's author or a supervisor may amend it")
BREAK_GLASS = Rule(
    "progress-note.break-glass",
    "read a progress note without the usual right, flagged, for immediately needed care",
    _everyone(frozenset({"TREAT", "ETREAT", "ERTREAT", "BTG"})),
    "break-the-glass is for immediately needed treatment (purpose TREAT, ETREAT, ERTREAT "
    "or BTG)",
    "45 CFR 164.312(a)(2)(ii) emergency access procedure; HL7 BTG (regulation.md 1.11, 3.5); "
    "never a psychotherapy note")
REGISTER_CLIENT = Rule(
    "client.register", "register clients and record their episodes of care and contacts",
    _plain("clinician", "supervisor", "front-desk", "admin"),
    "role {role} may not register clients", "product choice: the front desk and clinicians")
MANAGE_STAFF = Rule(
    "staff.manage", "add staff, change roles, deactivate",
    _plain("admin"), "role {role} may not manage staff",
    "product choice; every privilege change is an event (ONC 170.315(d)(2), 170.210(e)(1))")
IMPORT_HISTORY = Rule(
    "history.import",
    "import a practice's history from an earlier system (clients, episodes, contacts, "
    "notes of both kinds under their original authors)",
    _plain("admin"), "role {role} may not import history",
    "product choice: an import writes notes under other clinicians' names, in both stores, "
    "so it is the operator's (admin) alone, like staff changes; each imported client and "
    "note is an event by the importer, and the import itself is recorded")
MANAGE_RETENTION = Rule(
    "retention.manage",
    "read retention schedules, place and release legal holds, run the purge",
    _plain("compliance", "admin"), "role {role} may not manage retention or legal holds",
    "product choice: the privacy officer; periods are state law (regulation.md 1.10, 2)")
HANDLE_ACCESS_REQUEST = Rule(
    "record-set.access-request", "handle a client's right-of-access request (export)",
    _plain("compliance", "supervisor"), "role {role} may not handle right-of-access requests",
    "45 CFR 164.524 (act within 30 days); who handles it is this product's choice")
READ_AUDIT = Rule(
    "audit.read",
    "read the access log, the accounting of disclosures and the investigator's report",
    _plain("compliance", "supervisor", "admin"), "role {role} may not read the {what}",
    "45 CFR 164.312(b) (audit controls), 164.528 (accounting); readers are this product's "
    "choice, and every reading is recorded")
HANDLE_EVIDENCE = Rule(
    "integrity.evidence",
    "over the HTTP service: verify the stores, sign checkpoints, hand out Merkle proofs and "
    "evidence bundles (the key holder's local commands need no role)",
    _plain("compliance", "supervisor", "admin"), "role {role} may not {what}",
    "45 CFR 164.312(b), 164.312(c)(1) (audit controls, integrity); product choice: the "
    "readers of the audit trail and the operator (admin), and every use is recorded")
AUTHORIZE = Rule(
    "authorization.record", "record, revoke and list progress-note authorizations",
    _plain("clinician", "supervisor", "compliance", "front-desk"),
    "role {role} may not handle authorizations here",
    "45 CFR 164.508(c) (the signed form's core elements); product choice of who records them")
AUTHORIZE_PSYCHOTHERAPY = Rule(
    "psychotherapy-authorization.record",
    "record, revoke and list psychotherapy-note authorizations",
    _plain("clinician", "supervisor", "compliance"),
    "role {role} may not handle authorizations here",
    "45 CFR 164.508(a)(2), (b)(3)(ii); billing and the front desk never handle psychotherapy "
    "notes (product choice)")
RELEASE = Rule(
    "progress-note.release",
    "release progress notes under an authorization, a 164.512 basis or to the client",
    _plain("clinician", "supervisor", "compliance"), "role {role} may not release notes",
    "45 CFR 164.508, 164.512, 164.502(a)(1)(i); releases for treatment, payment and "
    "operations follow the read purposes above (164.506(c))")
WRITE_PSYCHOTHERAPY = Rule(
    "psychotherapy-note.write", "write psychotherapy notes",
    _plain("clinician", "supervisor"), "role {role} may not write psychotherapy notes",
    "45 CFR 164.501 (a mental health professional's notes); product choice")
AMEND_PSYCHOTHERAPY = Rule(
    "psychotherapy-note.amend", "amend a psychotherapy note (its originator only)",
    _plain("clinician", "supervisor"), "role {role} may not write psychotherapy notes",
    "the originator's own correction; 164.526(a)(2)(iii) gives no right to amend them",
    others=frozenset(),
    others_refusal="only the note's originator may amend a psychotherapy note")
LIST_PSYCHOTHERAPY = Rule(
    "psychotherapy-note.list", "see which psychotherapy notes exist (ids and dates)",
    _plain("clinician", "supervisor", "compliance"),
    "role {role} may not list psychotherapy notes",
    "product choice: a clinician sees the notes they originated, supervisors and compliance "
    "all of a client's", others=frozenset({"supervisor", "compliance"}))
USE_PSYCHOTHERAPY = Rule(
    "psychotherapy-note.use",
    "use or disclose a psychotherapy note (with a 164.508(a)(2) basis, checked by the guard)",
    _plain("clinician", "supervisor", "compliance"),
    "role {role} may not use or disclose psychotherapy notes",
    f"45 CFR 164.508(a)(2); {MINIMUM_NECESSARY}: billing, the front desk and admins never "
    "do (product choice)")
RELEASE_PSYCHOTHERAPY = Rule(
    "psychotherapy-note.release",
    "release a psychotherapy note outside the practice under a psychotherapy-note "
    "authorization (the content goes to the recipient's file, never the screen)",
    _plain("clinician", "supervisor", "compliance"),
    "role {role} may not release psychotherapy notes",
    "45 CFR 164.508(a)(2), 164.508(c)(1)(ii) (the authorization names who may disclose): "
    "the note's originator, or the privacy officer (compliance) for anyone's (product "
    "choice)", others=frozenset({"compliance"}),
    others_refusal="only the note's originator or compliance may release a psychotherapy "
                   "note under an authorization")

TABLE: tuple[Rule, ...] = (
    READ_NOTE, LIST_NOTES, WRITE_NOTE, AMEND_NOTE, BREAK_GLASS, RELEASE, REGISTER_CLIENT,
    AUTHORIZE, AUTHORIZE_PSYCHOTHERAPY, WRITE_PSYCHOTHERAPY, AMEND_PSYCHOTHERAPY,
    LIST_PSYCHOTHERAPY, USE_PSYCHOTHERAPY, RELEASE_PSYCHOTHERAPY, HANDLE_ACCESS_REQUEST,
    READ_AUDIT, HANDLE_EVIDENCE, MANAGE_RETENTION, MANAGE_STAFF, IMPORT_HISTORY)


@dataclass(frozen=True)
class ExceptionHolders:
    """Who may invoke one 164.508(a)(2) exception, and for which purposes of use.

    ``originator``: the note's originator may; ``roles``: these roles may, whoever wrote
    the note. ``purposes`` are the HL7 PurposeOfUse codes the exception is for (regulation.md
    3.5's mapping of the exceptions to codes); any other purpose is refused."""

    code: str
    originator: bool
    roles: frozenset[str]
    purposes: frozenset[str]
    basis: str

    @property
    def refusal(self) -> str:
        who = [*(["the note's originator"] if self.originator else []),
               *(f"{role} staff" for role in sorted(self.roles))]
        return f"{self.code} is invoked only by {' or '.join(who)}"

    @property
    def purpose_refusal(self) -> str:
        return f"{self.code} is for purpose {' or '.join(sorted(self.purposes))}"


_PURPOSES_CITED = "purposes: regulation.md 3.5"
_PRIVACY_OFFICER = ("the privacy officer (compliance) only (product choice: an outside "
                  "release without the client's authorization; it states what was asserted)")
PSYCHOTHERAPY_EXCEPTION_HOLDERS: dict[str, ExceptionHolders] = {h.code: h for h in (
    ExceptionHolders(
        "ORIGINATOR_TREATMENT", True, frozenset(), TREATMENT,
        "45 CFR 164.508(a)(2)(i)(A): use by the originator for treatment; "
        + _PURPOSES_CITED),
    ExceptionHolders(
        "SUPERVISED_TRAINING", True, frozenset({"supervisor"}), frozenset({"TRAIN"}),
        "45 CFR 164.508(a)(2)(i)(B): the practice's supervised training programs; the "
        f"originator or a supervisor (product choice); {_PURPOSES_CITED}"),
    ExceptionHolders(
        "DEFENSE_OF_ACTION_BY_INDIVIDUAL", False, frozenset({"compliance"}),
        frozenset({"HLEGAL"}),
        "45 CFR 164.508(a)(2)(i)(C): defending the practice in an action the client brought; "
        f"{_PRIVACY_OFFICER}; {_PURPOSES_CITED}"),
    ExceptionHolders(
        "HHS_COMPLIANCE", False, frozenset({"compliance"}), frozenset({"HCOMPL"}),
        f"45 CFR 164.508(a)(2)(ii), 164.502(a)(2)(ii); {_PRIVACY_OFFICER}; {_PURPOSES_CITED}"),
    ExceptionHolders(
        "REQUIRED_BY_LAW_512a", False, frozenset({"compliance"}),
        frozenset({"LEGAL", "HLEGAL"}),
        f"45 CFR 164.508(a)(2)(ii), 164.512(a); {_PRIVACY_OFFICER}; {_PURPOSES_CITED}"),
    ExceptionHolders(
        "OVERSIGHT_OF_ORIGINATOR_512d", False, frozenset({"compliance"}),
        frozenset({"HCOMPL"}),
        f"45 CFR 164.508(a)(2)(ii), 164.512(d); {_PRIVACY_OFFICER}; {_PURPOSES_CITED}"),
    ExceptionHolders(
        "CORONER_512g1", False, frozenset({"compliance"}), frozenset({"PUBHLTH"}),
        f"45 CFR 164.508(a)(2)(ii), 164.512(g)(1); {_PRIVACY_OFFICER}; {_PURPOSES_CITED} "
        "(no exact code: PUBHLTH)"),
    ExceptionHolders(
        "SERIOUS_THREAT_512j1i", True, frozenset({"compliance"}), frozenset({"THREAT"}),
        "45 CFR 164.508(a)(2)(ii), 164.512(j)(1)(i): a good-faith belief that it is "
        "needed to prevent a serious and imminent threat; the treating originator, who "
        "meets the threat, or the privacy officer (product choice: it cannot wait); "
        + _PURPOSES_CITED),
)}


# ----- deciding --------------------------------------------------------------------------------

def refuse_inactive(staff: StaffView | None) -> Decision | None:
    if staff is None:
        return Decision(False, "unknown staff id")
    if not staff.active:
        return Decision(False, "staff member is deactivated")
    return None


def decide(staff: StaffView | None, rule: Rule, *, purpose: str | None = None,
           originator: str | None = None, what: str = "") -> Decision:
    """Whether ``staff`` may take ``rule``'s action, for ``purpose``, on a record
    ``originator`` wrote. Unknown and deactivated staff are refused everything."""
    if (refused := refuse_inactive(staff)) is not None:
        return refused
    assert staff is not None
    if not rule.may(staff.role, purpose):
        return Decision(False, rule.refusal.format(role=staff.role, purpose=purpose,
                                                   what=what))
    if (rule.others is not None and originator is not None
            and originator != staff.staff_id and staff.role not in rule.others):
        return Decision(False, rule.others_refusal)
    return GRANTED


def permits(rule: Rule, role: str, purpose: str | None = None) -> bool:
    return rule.may(role, purpose)


def sees_others(rule: Rule, role: str) -> bool:
    """Whether ``role`` acts on records others originated (for rules with ``others``)."""
    return rule.others is None or role in rule.others


def exception_problem(code: str, staff: StaffView, originators: frozenset[str],
                      purpose: str) -> str | None:
    """Why ``staff`` may not invoke the psychotherapy-note exception ``code`` for
    ``purpose`` (None: they may). Unknown codes are the guard's to refuse."""
    holders = PSYCHOTHERAPY_EXCEPTION_HOLDERS.get(code)
    if holders is None:
        return None
    is_originator = originators == {staff.staff_id}
    if not ((holders.originator and is_originator) or staff.role in holders.roles):
        return holders.refusal
    if purpose not in holders.purposes:
        return holders.purpose_refusal
    return None


# ----- the README's tables -------------------------------------------------------------------

def _cell(rule: Rule, role: str) -> str:
    if role not in rule.roles:
        return "no"
    purposes = rule.roles[role]
    if purposes is not None:
        return ", ".join(sorted(purposes))
    if rule.others is not None:
        return "any" if role in rule.others else "own"
    return "yes"


def markdown() -> str:
    """The access-rules tables, as the README shows them."""
    lines = ["| may | " + " | ".join(ROLES) + " | basis |",
             "|---|" + "---|" * len(ROLES) + "---|"]
    for rule in TABLE:
        cells = " | ".join(_cell(rule, role) for role in ROLES)
        lines.append(f"| {rule.does} (`{rule.action}`) | {cells} | {rule.basis} |")
    lines += ["", "| psychotherapy-note exception | invoked by | purposes | basis |",
              "|---|---|---|---|"]
    for h in PSYCHOTHERAPY_EXCEPTION_HOLDERS.values():
        who = [*(["the note's originator"] if h.originator else []), *sorted(h.roles)]
        purposes = ", ".join(sorted(h.purposes))
        lines.append(f"| `{h.code}` | {', '.join(who)} | {purposes} | {h.basis} |")
    return "\n".join(lines) + "\n"
