"""The read models: how far behind each is, rebuilding one from its store's log, and
auditing each against a replay of the log (``check``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from ledger.display import shown
from ledger.errors import BadInput
from ledger.vocabulary import READ_MODELS

if TYPE_CHECKING:  # (the names are all a front end needs: importing them stays cheap)
    from ledger.persistence.tracking import Progress, Status, Tracked
    from ledger.projections.base import Projection
    from ledger.projections.check import ReplayCheck

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

    def check(self) -> dict[str, str | None]:
        """Each read model compared with a replay of its store's log (the Merkle trees
        with the leaves): None where it agrees, else the first difference in words."""
        from ledger.integrity.tree import StoredTree  # noqa: PLC0415
        from ledger.projections.base import Projection  # noqa: PLC0415
        from ledger.projections.check import ReplayCheck  # noqa: PLC0415

        found: dict[str, str | None] = {}
        for name in NAMES:
            model = self._get(name)
            if isinstance(model, StoredTree):
                bad = model.check()
                found[name] = None if bad is None else (
                    f"read model {name} disagrees with the leaves: Merkle node "
                    f"{bad[0]}/{bad[1]} {bad[2]}")
                continue
            assert isinstance(model, Projection)
            try:
                found[name] = _replayed(ReplayCheck(model, name), model)
            except (ValueError, TypeError) as e:  # a stored value its column cannot hold
                found[name] = (f"read model {name} disagrees with the log: a stored value "
                               f"cannot be read as its column's type ({shown(str(e))})")
        return found

    def size(self, name: str) -> int:
        """How many events a rebuild of ``name`` replays (for a progress bar)."""
        return self._get(name).count()

    def _get(self, name: str) -> Tracked:
        if name not in NAMES:
            raise BadInput(f"unknown read model {shown(name)}; use one of {', '.join(NAMES)}")
        return self._projections[name]()


def _replayed(check: ReplayCheck, model: Projection) -> str | None:
    log = model.log
    for n in log.scan(model.topics, page=1000):
        if n.id > check.tracked:
            break
        check.feed(n.id, n.topic, model.decode(n))
        if check.first is not None:
            break
    difference = check.finish(log.last_id())
    return None if difference is None else difference.describe()
