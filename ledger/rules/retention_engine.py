"""Which retention rules govern a client, the dates they give, and which one wins.

Pure functions of the client's facts and the rules (time passed in). The longest
applicable rule wins (regulation.md 2.2.7); a cap is an upper bound that binds even
against a longer rule (2.2.3); a minor formula may take the later or the earlier date
(2.2.4). Where no state rule is known the APA guideline applies, and says it is a
guideline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ledger.rules.retention import Precondition, Rule


@dataclass(frozen=True)
class Episode:
    license: str
    facility: str | None
    start: date
    end: date | None  # discharge or termination
    end_kind: str | None  # "discharge" | "termination"


@dataclass(frozen=True)
class Facts:
    jurisdiction: str
    dob: date
    episodes: tuple[Episode, ...]
    last_contact: date | None  # the latest recorded contact or service
    last_entry: date | None  # the latest note written, in either store


@dataclass(frozen=True)
class RuleDates:
    rule: Rule
    anchor: date
    adult_until: date
    minor_until: date | None  # when the client was a minor at the anchor
    keep_until: date  # what this rule requires
    cap_until: date | None


@dataclass(frozen=True)
class Explanation:
    rules: tuple[RuleDates, ...]
    skipped: tuple[tuple[Rule, str], ...]  # governing rules that gave no date, and why
    winner: RuleDates | None
    destroy_on: date | None  # the first day destruction is allowed (and, with a cap, due)
    capped: bool
    blocked: str | None  # why no date can be given yet
    preconditions: tuple[tuple[Rule, Precondition], ...]
    # Rules whose cap falls before the destruction date another rule requires.
    cap_conflicts: tuple[RuleDates, ...] = ()


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a common year: the later day, 1 March
        return date(day.year + years, 3, 1)


def governing(rules: tuple[Rule, ...], facts: Facts) -> list[Rule]:
    """The state rules for the client's jurisdiction and the licenses and facilities that
    served them, plus the fallback when some license that served them has no state rule
    (its records would otherwise follow another license's shorter rule)."""
    licenses = {e.license for e in facts.episodes}
    facilities = {e.facility for e in facts.episodes if e.facility}
    found = [r for r in rules if r.jurisdiction == facts.jurisdiction
             and (r.licenses & licenses or ("any" in r.licenses and licenses)
                  or r.facilities & facilities)]
    covered = set().union(*(r.licenses for r in found)) if found else set()
    if "any" in covered:
        covered = licenses
    if not found or licenses - covered:
        found += [r for r in rules if r.is_fallback]
    return found


def anchor_of(rule: Rule, facts: Facts) -> date | None:
    ends = [e.end for e in facts.episodes if e.end is not None]
    end = max(ends) if ends else None
    contact = max((d for d in (facts.last_contact, end) if d is not None), default=None)
    # The last entry, but never earlier than the end of services or the last contact.
    entry = max((d for d in (facts.last_entry, contact) if d is not None), default=None)
    return {
        "discharge": end, "termination": end, "last-contact": contact,
        "last-service": contact, "later-of-termination-or-last-contact": contact,
        "last-entry": entry, "date-of-service": max(
            (d for d in (facts.last_entry, contact) if d is not None), default=None),
    }[rule.anchor]


def dates_for(rule: Rule, facts: Facts) -> RuleDates | str:
    """The dates one rule gives, or why it gives none."""
    anchor = anchor_of(rule, facts)
    if anchor is None:
        return f"no {rule.anchor} date recorded yet"
    if rule.anchor_on_or_after and anchor < rule.anchor_on_or_after:
        return f"governs only anchors on or after {rule.anchor_on_or_after.isoformat()}"
    adult_until = add_years(anchor, rule.adult_years)
    keep = adult_until
    minor_until = None
    majority = add_years(facts.dob, rule.majority_age)
    if rule.minor is not None and anchor < majority:
        minor_until = (add_years(majority, rule.minor.value) if rule.minor.kind ==
                       "majority-plus" else add_years(facts.dob, rule.minor.value))
        keep = (max if rule.minor.combine == "later" else min)(adult_until, minor_until)
    cap = add_years(anchor, rule.cap_years) if rule.cap_years else None
    return RuleDates(rule, anchor, adult_until, minor_until, keep, cap)


def explain(rules: tuple[Rule, ...], facts: Facts) -> Explanation:
    open_episodes = [e for e in facts.episodes if e.end is None]
    results: list[RuleDates] = []
    skipped: list[tuple[Rule, str]] = []
    candidates = governing(rules, facts)
    for rule in candidates:
        got = dates_for(rule, facts)
        if isinstance(got, str):
            skipped.append((rule, got))
        else:
            results.append(got)
    if not any(not r.rule.is_fallback for r in results) and not any(
            r.is_fallback for r in candidates):
        # The state rules that govern give no date (e.g. they govern only later
        # anchors): the guideline applies, as where no state rule is known.
        for rule in (r for r in rules if r.is_fallback):
            got = dates_for(rule, facts)
            if isinstance(got, str):
                skipped.append((rule, got))
            else:
                results.append(got)
    preconditions = tuple((r.rule, p) for r in results for p in r.rule.preconditions)
    blocked = None
    if not facts.episodes:
        blocked = "no episode of care recorded"
    elif open_episodes:
        blocked = "an episode of care is still open"
    elif not results:
        blocked = "no governing rule gives a date yet"
    if blocked is not None:
        return Explanation(tuple(results), tuple(skipped), None, None, False, blocked,
                           preconditions)
    # A cap bounds its own rule: that rule's records must be gone by then. When another
    # governing rule requires keeping the client longer, the longer minimum is kept (the
    # ledger destroys whole clients, not single records), and the conflict is shown.
    winner = max(results, key=lambda r: (effective(r), r.rule.id))
    destroy_on = effective(winner)
    capped = winner.cap_until is not None and winner.cap_until < winner.keep_until
    conflicts = tuple(r for r in results if r.cap_until is not None and r.cap_until < destroy_on
                      and r is not winner)
    return Explanation(tuple(results), tuple(skipped), winner, destroy_on, capped, None,
                       preconditions, conflicts)


def effective(r: RuleDates) -> date:
    """What one rule allows: its minimum, bounded by its own cap."""
    return min(r.keep_until, r.cap_until) if r.cap_until is not None else r.keep_until
