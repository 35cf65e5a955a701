"""The retention sweep: destroy what the rules allow, today, in both stores."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ledger.bootstrap import open_main, open_pn, remember_head
from ledger.services.retention import RetentionDesk, Schedule
from ledger.settings import Settings


def sweep(settings: Settings, at: datetime, *, by: str, dry_run: bool = False,
          progress: Callable[[Schedule], None] | None = None) -> list[Schedule]:
    """Run the purge as ``by`` at ``at``; returns the clients destroyed (or, dry, due)."""
    main = open_main(settings)
    try:
        pn = open_pn(settings, main)
        try:
            done = RetentionDesk(main, pn).run(by=by, at=at, dry_run=dry_run,
                                               progress=progress)
            if not dry_run:
                remember_head(settings, main, at)
                remember_head(settings, pn, at)
            return done
        finally:
            pn.close()
    finally:
        main.close()
