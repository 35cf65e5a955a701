"""The closed sets of codes the ledger accepts, and their checks: plain data, cheap to import.

Front ends use them for their choices and help texts (``ledger --help`` must not load the
database stack); the domain and the rules use them to validate. Each set names its source.
"""

from __future__ import annotations

from ledger.display import shown
from ledger.errors import BadInput

# Staff roles (this product's choice; what each may do is in ledger/rules/roles.py).
ROLES = ("clinician", "supervisor", "billing", "front-desk", "compliance", "admin")

# HL7 PurposeOfUse codes by group (v3-ActReason; regulation.md 3.5).
PURPOSES: dict[str, tuple[str, ...]] = {
    "treatment": ("TREAT", "ETREAT", "ERTREAT", "BTG", "POPHLTH"),
    "payment": ("HPAYMT", "CLMATTCH", "COVERAGE"),
    "operations": ("HOPERAT", "CAREMGT", "HACCRED", "HCOMPL", "HDIRECT", "HLEGAL", "HPRGRP",
                   "HQUALIMP", "HSYSADMIN", "PATADMIN", "TRAIN"),
    "individual": ("PATRQT", "FAMRQT", "PWATRNY", "SUPNWK"),
    "legal-and-other": ("LEGAL", "PUBHLTH", "HRESCH", "HMARKT", "THREAT", "DISASTER"),
}
ALL_PURPOSES = frozenset(code for codes in PURPOSES.values() for code in codes)
TREATMENT = frozenset({"TREAT", "ETREAT", "ERTREAT"})
PAYMENT = frozenset(PURPOSES["payment"])
INDIVIDUAL = frozenset(PURPOSES["individual"])

# Who receives a release (this product's vocabulary; the guard maps each legal basis to the
# kinds of recipient it permits).
RECIPIENT_TYPES: dict[str, str] = {
    "workforce": "a member of this practice's workforce (a use, not a disclosure)",
    "provider": "another health care provider",
    "payer": "a health plan or other payer",
    "individual": "the client",
    "personal-representative": "the client's personal representative",
    "attorney": "an attorney",
    "court": "a court, grand jury or administrative tribunal",
    "hhs": "the Secretary of HHS (OCR)",
    "oversight-agency": "a health oversight agency",
    "law-enforcement": "a law-enforcement official",
    "coroner": "a coroner or medical examiner",
    "public-health": "a public-health authority",
    "threat-preventer": "a person able to prevent or lessen a serious threat",
    "training-program": "this practice's supervised training program",
    "other": "any other recipient",
}

# What an authorization may cover (164.508(b)(3)(ii): a psychotherapy-note authorization
# combines with no other). Only the first is psychotherapy notes.
PSYCHOTHERAPY_NOTES = "psychotherapy-notes"
SCOPES = (PSYCHOTHERAPY_NOTES, "progress-notes", "designated-record-set")
COVERS_PROGRESS_NOTES = frozenset({"progress-notes", "designated-record-set"})

US_JURISDICTIONS = frozenset(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV "
    "NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR GU VI AS MP".split()
)

# The legal bases a release may name without an authorization (their rules, citations and
# recipients are the disclosure guard's, ledger/rules/disclosure.py; a test keeps these
# lists equal to its tables). 164.508(a)(2) for psychotherapy notes; 164.512 and HHS for
# the record.
PN_EXCEPTION_CODES = ("ORIGINATOR_TREATMENT", "SUPERVISED_TRAINING",
                      "DEFENSE_OF_ACTION_BY_INDIVIDUAL", "HHS_COMPLIANCE",
                      "REQUIRED_BY_LAW_512a", "OVERSIGHT_OF_ORIGINATOR_512d", "CORONER_512g1",
                      "SERIOUS_THREAT_512j1i")
RECORD_EXCEPTION_CODES = ("HHS_COMPLIANCE", "REQUIRED_BY_LAW_512a", "OVERSIGHT_512d",
                          "JUDICIAL_512e", "LAW_ENFORCEMENT_512f", "CORONER_512g1",
                          "SERIOUS_THREAT_512j1i", "NATIONAL_SECURITY_512k2", "CUSTODY_512k5")

# The fields an access-log listing sorts by (those of ledger.views.AccessRecord; a test
# keeps them equal).
ACCESS_LOG_FIELDS = ("store", "position", "at", "actor_id", "actor_role", "action", "outcome",
                     "object_type", "object_id", "client_id", "purpose", "reason",
                     "break_glass", "recipient", "recipient_type", "legal_basis",
                     "accountable", "assertion", "actor_via", "actor_os_user")
# The fields an access-log page sorts by on the server: those the access read model holds
# (ledger/projections/access.py), so a page is sorted and cut in SQL.
ACCESS_PAGE_SORTS = ("at", "actor_id", "actor_role", "action", "outcome", "purpose",
                     "break_glass", "object_type")
ACCESS_PAGE_SIZES = (1, 200)  # the least and most records on one page

# The read models (ledger projections status/rebuild).
READ_MODELS = ("access-main", "access-pn", "record-set", "retention-main", "retention-pn",
               "merkle-main", "merkle-pn")

# License and facility types the state retention rules distinguish (rules.toml).
LICENSES = ("psychologist", "lmft", "lcsw", "lpcc", "lpc", "lmhc", "lrc", "lep",
            "social-worker", "addiction-counselor")
FACILITIES = ("closing-facility", "mh-facility", "sud-program", "ddap-project",
              "cmh-program", "health-facility")


def check_role(role: str) -> str:
    if role not in ROLES:
        raise BadInput(f"unknown role {shown(role)}; expected one of: {', '.join(ROLES)}")
    return role


def check_purpose(code: str) -> str:
    if code not in ALL_PURPOSES:
        raise BadInput(f"unknown purpose of use {shown(code)}; use an HL7 PurposeOfUse code "
                       "such as TREAT, HPAYMT or HOPERAT")
    return code


def purpose_group(code: str) -> str | None:
    return next((g for g, codes in PURPOSES.items() if code in codes), None)


def check_recipient_type(recipient_type: str) -> str:
    if recipient_type not in RECIPIENT_TYPES:
        raise BadInput(f"unknown recipient type {shown(recipient_type)}; use one of "
                       f"{', '.join(RECIPIENT_TYPES)}")
    return recipient_type


def parse_scopes(values: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Scopes given as repeated or comma-separated values, checked and deduplicated."""
    scopes: list[str] = []
    for value in values:
        for part in value.split(","):
            scope = part.strip().lower()
            if not scope:
                continue
            if scope not in SCOPES:
                raise BadInput(f"unknown scope {shown(scope)}; use one of {', '.join(SCOPES)}")
            if scope not in scopes:
                scopes.append(scope)
    if not scopes:
        raise BadInput("an authorization needs a scope")
    return tuple(scopes)


def same_recipient(a: str, b: str) -> bool:
    """Recipient names compare ignoring case and spacing."""
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


def check_license(license: str) -> str:
    if license not in LICENSES:
        raise BadInput(f"unknown license {shown(license)}; use one of {', '.join(LICENSES)}")
    return license


def check_facility(facility: str | None) -> str | None:
    if facility is not None and facility not in FACILITIES:
        raise BadInput(f"unknown facility {shown(facility)}; use one of {', '.join(FACILITIES)}")
    return facility
