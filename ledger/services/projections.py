"""The read models: how far behind each is, and rebuilding one from its store's log."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from ledger.errors import BadInput
from ledger.vocabulary import READ_MODELS

if TYPE_CHECKING:  # (the names are all a front end needs: importing them stays cheap)
    from ledger.persistence.tracking import Progress, Status, Tracked

NAMES = READ_MODELS


class Projections:
    def __init__(self, projections: Mapping[str, Callable[[], Tracked]]) -> None:
        """``projections``: each read model by name, opened when first asked."""
        self._projections = projections

    def status(self) -> dict[str, Status]:
        return {name: self._get(name).status() for name in NAMES}

    def rebuild(self, name: str, *, progress: Progress | None = None) -> tuple[int, int]:
        """Empty one read model and replay its store's whole log into it; returns how many
        events were applied and the position it reached."""
        projection = self._get(name)
        applied = projection.rebuild(progress=progress)
        return applied, projection.position()

    def size(self, name: str) -> int:
        """How many events a rebuild of ``name`` replays (for a progress bar)."""
        return self._get(name).count()

    def _get(self, name: str) -> Tracked:
        if name not in NAMES:
            raise BadInput(f"unknown read model {name!r}; use one of {', '.join(NAMES)}")
        return self._projections[name]()
