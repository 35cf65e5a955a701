"""Which retention rules govern a client, the dates they give, and which one wins.

Pure functions of the client's facts and the rules (time passed in). Each episode of care
carries its state and license; every rule of every state that governed an episode gives a
date, its anchor taken from the episodes it governs and the facts that belong to them
(service days, contacts, entries), and the longest applicable rule wins (regulation.md
2.2.7); a cap is an upper bound that binds even against a longer rule (2.2.3); a minor
formula may take the later or the earlier date (2.2.4). Where no state rule is known the
APA guideline applies, and says it is a guideline.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from ledger.rules.retention import Precondition, Rule


@dataclass(frozen=True)
class Episode:
    license: str
    facility: str | None
    start: date
    end: date | None  # discharge or termination
    end_kind: str | None  # "discharge" | "termination"
    # The state where the service was provided and whose license it was provided under;
    # None: the state the client was registered in (episodes recorded before states were).
    jurisdiction: str | None = None

    def holds(self, day: date) -> bool:
        """Whether ``day`` lies in the episode (an open one runs on)."""
        return self.start <= day and (self.end is None or day <= self.end)

    def describe(self) -> str:
        """``WA psychologist 2014-01-06 to 2016-08-31`` (the state once resolved)."""
        where = f"{self.jurisdiction} " if self.jurisdiction else ""
        facility = f" at a {self.facility}" if self.facility else ""
        until = self.end.isoformat() if self.end else "open"
        return f"{where}{self.license}{facility} {self.start.isoformat()} to {until}"


@dataclass(frozen=True)
class Record:
    """One dated entry in the client's record, in either store (a note version): never its
    content."""

    service: date | None  # the day of the service it documents (the session date)
    entered: date  # the day it was entered: the original day for an imported record

    @property
    def served(self) -> date:
        """The service day, or where none was given the day it was entered (later)."""
        return self.service or self.entered


@dataclass(frozen=True)
class Facts:
    jurisdiction: str  # the state of registration: the state of episodes without one
    dob: date
    episodes: tuple[Episode, ...]
    contacts: tuple[date, ...] = ()  # professional contacts, by the day they happened
    records: tuple[Record, ...] = ()

    def state_of(self, episode: Episode) -> str:
        return episode.jurisdiction or self.jurisdiction


@dataclass(frozen=True)
class RuleDates:
    rule: Rule
    anchor: date
    adult_until: date
    minor_until: date | None  # when the client was a minor at the anchor
    keep_until: date  # what this rule requires
    cap_until: date | None
    episodes: tuple[Episode, ...] = ()  # the episodes of care it governs


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


def governing(rules: tuple[Rule, ...], facts: Facts, episode: Episode) -> list[Rule]:
    """The rules of the episode's state for its license and facility, plus the fallback
    when its license has no rule there (its records would otherwise follow another
    license's rule, or none)."""
    state = facts.state_of(episode)
    found = [r for r in rules if r.jurisdiction == state
             and (episode.license in r.licenses or "any" in r.licenses
                  or (episode.facility is not None and episode.facility in r.facilities))]
    if not any(episode.license in r.licenses or "any" in r.licenses for r in found):
        found += [r for r in rules if r.is_fallback]
    return found


def attributed(facts: Facts, episodes: tuple[Episode, ...]
               ) -> tuple[list[date], list[Record]]:
    """The contacts and records that belong to ``episodes``. A record with a service day
    belongs to each episode that day lies in. A contact, which names no license, and a
    record without a service day belong to each episode begun by their day: either may
    concern any of them (a follow-up after discharge, an entry written late). Each
    depends on one episode alone, so recording another episode never takes a fact away
    from an episode, and the destruction date never moves earlier for it."""
    contacts = [c for c in facts.contacts if any(e.start <= c for e in episodes)]
    records = [r for r in facts.records if any(
        e.holds(r.service) if r.service is not None else e.start <= r.entered
        for e in episodes)]
    return contacts, records


def unplaced(facts: Facts) -> str | None:
    """A fact no episode of care can hold: no date can be given until it has one (which
    rules govern it is unknown, and guessing could destroy early)."""
    first = min(e.start for e in facts.episodes)
    for day in sorted(facts.contacts):
        if day < first:
            return (f"the contact on {day.isoformat()} precedes every episode of care; "
                    "record the episode it belongs to")
    for r in sorted(facts.records, key=lambda r: (r.served, r.entered)):
        if r.service is not None and not any(e.holds(r.service) for e in facts.episodes):
            return (f"a record of a service on {r.service.isoformat()} lies outside every "
                    "episode of care; record the episode it belongs to")
        if r.service is None and r.entered < first:
            return (f"a record entered on {r.entered.isoformat()} precedes every episode of "
                    "care; record the episode it belongs to")
    return None


def anchor_of(rule: Rule, facts: Facts, episodes: tuple[Episode, ...]) -> date | None:
    """The rule's anchor, from the episodes it governs and the facts that belong to them."""
    contacts, records = attributed(facts, episodes)
    ends = [e.end for e in episodes if e.end is not None]
    end = max(ends, default=None)
    served = [r.served for r in records]
    # The last service or contact: never earlier than the end of services.
    contact = max([*ends, *contacts, *served], default=None)
    # The last entry, but never earlier than the end of services or the last contact.
    entry = max([*ends, *contacts, *served, *(r.entered for r in records)], default=None)
    return {
        "discharge": end, "termination": end, "last-contact": contact,
        "last-service": contact, "later-of-termination-or-last-contact": contact,
        "last-entry": entry, "date-of-service": contact,
    }[rule.anchor]


def dates_for(rule: Rule, facts: Facts, episodes: tuple[Episode, ...]) -> RuleDates | str:
    """The dates one rule gives for the episodes it governs, or why it gives none."""
    anchor = anchor_of(rule, facts, episodes)
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
    return RuleDates(rule, anchor, adult_until, minor_until, keep, cap, episodes)


def governed(rules: tuple[Rule, ...], facts: Facts) -> dict[Rule, tuple[Episode, ...]]:
    """Each governing rule with the episodes it governs. Where an episode's state rules
    all give it no date (e.g. they govern only later anchors), the guideline governs it,
    as where no state rule is known."""
    found: dict[Rule, list[Episode]] = {}
    for episode in facts.episodes:
        own = governing(rules, facts, episode)
        if not any(r.is_fallback for r in own) and all(
                isinstance(dates_for(r, facts, (episode,)), str) for r in own):
            own += [r for r in rules if r.is_fallback]
        for rule in own:
            found.setdefault(rule, []).append(episode)
    return {rule: tuple(episodes) for rule, episodes in found.items()}


def explain(rules: tuple[Rule, ...], facts: Facts) -> Explanation:
    """Every rule of every state that governed an episode gives a date from the episodes
    it governs; the longest wins."""
    facts = replace(facts, episodes=tuple(replace(e, jurisdiction=facts.state_of(e))
                                          for e in facts.episodes))
    results: list[RuleDates] = []
    skipped: list[tuple[Rule, str]] = []
    for rule, episodes in governed(rules, facts).items():
        got = dates_for(rule, facts, episodes)
        if isinstance(got, str):
            skipped.append((rule, got))
        else:
            results.append(got)
    preconditions = tuple((r.rule, p) for r in results for p in r.rule.preconditions)
    blocked = None
    if not facts.episodes:
        blocked = "no episode of care recorded"
    elif any(e.end is None for e in facts.episodes):
        blocked = "an episode of care is still open"
    elif (outside := unplaced(facts)) is not None:
        blocked = outside
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
