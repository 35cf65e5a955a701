"""Load and validate the retention rules shipped in ``rules.toml``.

A malformed rule stops the program at start with one line naming the rule's line in the
file, never a traceback and never a silently skipped rule.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

from ledger.errors import LedgerError
from ledger.vocabulary import FACILITIES, LICENSES, US_JURISDICTIONS

ANCHORS = ("discharge", "termination", "last-contact", "last-service", "last-entry",
           "later-of-termination-or-last-contact", "date-of-service")
FALLBACK = "*"
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{1,62}")
_KEYS = {"id", "jurisdiction", "licenses", "facilities", "anchor", "adult_years", "minor",
         "majority_age", "cap_years", "anchor_on_or_after", "preconditions", "citation",
         "source", "note"}


class RuleError(LedgerError):
    """The rules file is malformed (a packaging error: the product must not start)."""


@dataclass(frozen=True)
class Minor:
    kind: str  # "majority-plus" | "until-age"
    value: int  # years after majority, or the age
    combine: str  # "later" | "earlier"


@dataclass(frozen=True)
class Precondition:
    kind: str  # "notify-agency" | "keep-destruction-list"
    agency: str | None = None
    waiting_days: int | None = None
    years: int | None = None

    def describe(self) -> str:
        if self.kind == "notify-agency":
            wait = f", then wait {self.waiting_days} days" if self.waiting_days else ""
            return f"notify {self.agency} before destroying{wait}"
        return f"keep a list of the destroyed records for {self.years} more years"


@dataclass(frozen=True)
class Rule:
    id: str
    line: int
    jurisdiction: str
    licenses: frozenset[str]
    facilities: frozenset[str]
    anchor: str
    adult_years: int
    minor: Minor | None
    majority_age: int
    cap_years: int | None
    anchor_on_or_after: date | None
    preconditions: tuple[Precondition, ...]
    citation: str
    source: str
    note: str | None

    @property
    def is_fallback(self) -> bool:
        return self.jurisdiction == FALLBACK


def parse(text: str, name: str = "rules.toml") -> tuple[Rule, ...]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise RuleError(f"{name}: not valid TOML: {e}") from None
    lines = [n for n, line in enumerate(text.splitlines(), 1) if line.strip() == "[[rule]]"]
    raw = data.get("rule")
    if not isinstance(raw, list) or not raw:
        raise RuleError(f"{name}: no [[rule]] tables")
    rules = [_rule(entry, lines[i] if i < len(lines) else 0, name)
             for i, entry in enumerate(raw)]
    seen: dict[str, int] = {}
    for r in rules:
        if r.id in seen:
            raise RuleError(f"{name} line {r.line}: rule id {r.id!r} already used on line "
                            f"{seen[r.id]}")
        seen[r.id] = r.line
    if not any(r.is_fallback for r in rules):
        raise RuleError(f"{name}: no fallback rule (jurisdiction \"*\")")
    return tuple(rules)


@cache
def load() -> tuple[Rule, ...]:
    """The rules shipped in the package (read and validated once)."""
    text = resources.files("ledger.rules").joinpath("rules.toml").read_text("utf-8")
    return parse(text)


def _rule(entry: Any, line: int, name: str) -> Rule:
    where = f"{name} line {line}"

    def fail(message: str) -> RuleError:
        return RuleError(f"{where}: {message}")

    if not isinstance(entry, dict):
        raise fail("a rule must be a table")
    unknown = set(entry) - _KEYS
    if unknown:
        raise fail(f"unknown field {sorted(unknown)[0]!r}")

    def text(key: str, *, required: bool = True) -> str | None:
        value = entry.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            raise fail(f"{key} must be a non-empty string")
        return value

    def years(key: str, low: int, high: int, *, required: bool = True) -> int | None:
        value = entry.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise fail(f"{key} must be a whole number from {low} to {high}")
        return value

    rule_id = text("id")
    assert rule_id is not None
    if not _ID.fullmatch(rule_id):
        raise fail(f"id {rule_id!r} must be letters, digits and dashes")
    jurisdiction = text("jurisdiction")
    if jurisdiction != FALLBACK and jurisdiction not in US_JURISDICTIONS:
        raise fail(f"unknown jurisdiction {jurisdiction!r}")
    licenses = _tokens(entry.get("licenses", []), (*LICENSES, "any"), "licenses", fail)
    facilities = _tokens(entry.get("facilities", []), FACILITIES, "facilities", fail)
    if not licenses and not facilities:
        raise fail("a rule must name licenses or facilities it governs")
    anchor = text("anchor")
    if anchor not in ANCHORS:
        raise fail(f"unknown anchor {anchor!r}; use one of {', '.join(ANCHORS)}")
    on_or_after = entry.get("anchor_on_or_after")
    if on_or_after is not None and type(on_or_after) is not date:
        raise fail("anchor_on_or_after must be a date like 2015-01-01")
    adult = years("adult_years", 1, 100)
    assert adult is not None
    return Rule(
        id=rule_id, line=line, jurisdiction=jurisdiction or "", licenses=licenses,
        facilities=facilities, anchor=anchor or "", adult_years=adult,
        minor=_minor(entry.get("minor"), fail),
        majority_age=years("majority_age", 14, 25, required=False) or 18,
        cap_years=years("cap_years", 1, 100, required=False),
        anchor_on_or_after=on_or_after,
        preconditions=tuple(_precondition(p, fail) for p in entry.get("preconditions", [])),
        citation=text("citation") or "", source=text("source") or "",
        note=text("note", required=False))


def _tokens(value: Any, allowed: tuple[str, ...], key: str, fail: Any) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise fail(f"{key} must be a list of strings")
    for v in value:
        if v not in allowed:
            raise fail(f"unknown {key[:-1]} {v!r}; use one of {', '.join(allowed)}")
    return frozenset(value)


def _minor(value: Any, fail: Any) -> Minor | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise fail("minor must be a table")
    kind, combine = value.get("kind"), value.get("combine", "later")
    if combine not in ("later", "earlier"):
        raise fail("minor.combine must be \"later\" or \"earlier\"")
    field = {"majority-plus": "years", "until-age": "age"}.get(kind)  # type: ignore[arg-type]
    if field is None:
        raise fail("minor.kind must be \"majority-plus\" or \"until-age\"")
    number = value.get(field)
    if set(value) - {"kind", "combine", field}:
        raise fail(f"minor of kind {kind} takes only {field} and combine")
    if not isinstance(number, int) or isinstance(number, bool) or not 0 <= number <= 40:
        raise fail(f"minor.{field} must be a whole number from 0 to 40")
    return Minor(kind=str(kind), value=number, combine=combine)


def _precondition(value: Any, fail: Any) -> Precondition:
    if not isinstance(value, dict):
        raise fail("each precondition must be a table")
    kind = value.get("kind")
    if kind == "notify-agency":
        agency, wait = value.get("agency"), value.get("waiting_days")
        if not isinstance(agency, str) or not agency.strip():
            raise fail("a notify-agency precondition needs agency")
        if wait is not None and (not isinstance(wait, int) or wait < 0):
            raise fail("waiting_days must be a whole number of days")
        return Precondition(kind, agency=agency, waiting_days=wait)
    if kind == "keep-destruction-list":
        n = value.get("years")
        if not isinstance(n, int) or not 1 <= n <= 100:
            raise fail("a keep-destruction-list precondition needs years")
        return Precondition(kind, years=n)
    raise fail("precondition kind must be \"notify-agency\" or \"keep-destruction-list\"")
