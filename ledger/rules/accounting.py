"""The accounting of disclosures (45 CFR 164.528; regulation.md 1.8), as a client reads it.

Only accountable disclosures are listed (the excluded categories of 164.528(a)(1) are
marked not accountable when each disclosure is recorded), for the six years before the
request (a)(1). Each entry gives the date, the recipient and address if known, a brief
description and the purpose or basis (b)(2). Repeated disclosures to one recipient for one
purpose are summarised as (b)(3) allows: the first disclosure's details, how many there
were, and the date of the last.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ledger.views import AccountingEntry

LOOKBACK_YEARS = 6  # 164.528(a)(1)


def six_years_before(day: date) -> date:
    try:
        return day.replace(year=day.year - LOOKBACK_YEARS)
    except ValueError:  # 29 February
        return day.replace(year=day.year - LOOKBACK_YEARS, day=28)


@dataclass(frozen=True)
class AccountingLine:
    first: AccountingEntry
    count: int
    last_at: datetime


@dataclass(frozen=True)
class Accounting:
    client_id: str
    requested_on: date
    period_start: date
    lines: tuple[AccountingLine, ...]


def summarise(client_id: str, requested_on: date,
              entries: list[AccountingEntry]) -> Accounting:
    groups: dict[tuple[str, str, str | None], list[AccountingEntry]] = {}
    for entry in sorted(entries, key=lambda e: (e.disclosed_at, str(e.disclosure_id))):
        key = (" ".join(entry.recipient.casefold().split()), entry.purpose, entry.legal_basis)
        groups.setdefault(key, []).append(entry)
    lines = sorted((AccountingLine(first=g[0], count=len(g), last_at=g[-1].disclosed_at)
                    for g in groups.values()), key=lambda line: line.first.disclosed_at)
    return Accounting(client_id=client_id, requested_on=requested_on,
                      period_start=six_years_before(requested_on), lines=tuple(lines))


def letter(accounting: Accounting) -> str:
    """The accounting as text a client can read."""
    out = [f"Accounting of disclosures of your health information from "
           f"{accounting.period_start.isoformat()} to {accounting.requested_on.isoformat()}.",
           "It lists the disclosures the law requires us to account for (45 CFR 164.528);",
           "it leaves out disclosures for treatment, payment and health care operations, to",
           "you, and those you authorized.", ""]
    if not accounting.lines:
        out.append("There were no such disclosures in this period.")
    for n, line in enumerate(accounting.lines, 1):
        e = line.first
        out.append(f"{n}. {e.disclosed_at.date().isoformat()}: to {e.recipient}"
                   + (f", {e.recipient_address}" if e.recipient_address else ""))
        out.append(f"   What: {e.description}")
        out.append(f"   Why: purpose {e.purpose}"
                   + (f"; legal basis {e.legal_basis}" if e.legal_basis else ""))
        if e.statement:
            out.append(f"   Basis stated: {e.statement}")
        if line.count > 1:
            out.append(f"   Repeated: {line.count} disclosures to this recipient for this "
                       f"purpose; the last on {line.last_at.date().isoformat()}.")
    return "\n".join(out) + "\n"
