"""What the investigator's report finds (:mod:`ledger.services.investigation`): each
store's evidence, the events concerning psychotherapy notes, and the conclusion. Plain
records, free of the database, so that a front end that only displays the report (the
CLI's remote mode) can rebuild it from the HTTP service's answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from ledger.views import AccessRecord

if TYPE_CHECKING:
    from ledger.integrity.records import Checkpoint


@dataclass(frozen=True)
class Evidence:
    store: str
    ok: bool
    detail: str  # what the store's conclusion rests on, or what failed
    checkpoint: str | None  # the signed note the proofs are against
    size: int
    events: int = 0  # the chain was verified to this position
    read_models: tuple[str, ...] = ()  # read models that disagree with the log
    signed: Checkpoint | None = None  # that note, its signature checked


@dataclass(frozen=True)
class Item:
    record: AccessRecord
    kind: str  # "release" | "originator use" | "refused" | "break-glass" | "other"
    basis: str | None
    proof: tuple[str, ...] | None  # inclusion proof (hex) against the store's checkpoint
    leaf: str | None = None  # the event's leaf hash (hex), which the proof is for
    position: int | None = None  # its log position (the proof's leaf index + 1)


@dataclass
class Report:
    since: date | None
    until: date | None
    evidence: list[Evidence]
    items: list[Item] = field(default_factory=list)
    conclusion: str | None = None

    @property
    def verified(self) -> bool:
        """Every store's chain, root, checkpoint and read models hold."""
        return all(e.ok for e in self.evidence)

    @property
    def concluded(self) -> bool:
        """The log itself verified (a read model's disagreement alone does not stop the
        conclusion, which rests on the log, but still fails the report)."""
        return self.conclusion is not None

    @property
    def releases(self) -> list[Item]:
        return [i for i in self.items if i.kind == "release"]
