"""Verify every store's chain and remember the verified heads outside the database."""

from __future__ import annotations

from datetime import datetime

from ledger.bootstrap import open_main, open_pn, remember_head, verify_one
from ledger.integrity.verify import Report
from ledger.settings import Settings


def verify_all(settings: Settings, at: datetime, *, known_head: str | None = None,
               known_pn_head: str | None = None, use_known_head: bool = True) -> list[Report]:
    """Verify the main store and the sealed store, each on its own; a clean store's head
    becomes its new known head. One store's damage never hides the other's report."""
    reports: list[Report] = []
    app = open_main(settings)
    try:
        pn = open_pn(settings, app)
        try:
            for store, override in ((app, known_head), (pn, known_pn_head)):
                report = verify_one(settings, store, use_known_head=use_known_head,
                                    known_head_override=override)
                if report.ok:
                    remember_head(settings, store, at, report.head)  # the head verified
                reports.append(report)
        finally:
            pn.close()
    finally:
        app.close()
    return reports
