"""Verify every store's chain and remember the verified heads outside the database."""

from __future__ import annotations

from datetime import datetime

from ledger.bootstrap import open_main, remember_head, verify_main
from ledger.settings import Settings
from ledger.verify import Report


def verify_all(settings: Settings, at: datetime, *, known_head: str | None = None,
               use_known_head: bool = True) -> list[Report]:
    """Verify the stores; a clean store's head becomes the new known head."""
    app = open_main(settings)
    try:
        report = verify_main(settings, app, use_known_head=use_known_head,
                             known_head_override=known_head)
        if report.ok:
            remember_head(settings, app, at, report.head)  # the head verified, not a later one
    finally:
        app.close()
    return [report]
