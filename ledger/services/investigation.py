"""The investigator's report on psychotherapy notes: were any released, to whom, on what
basis, and what evidence does the answer rest on.

It verifies both stores' chains and that each store's tree still has the root of its latest
signed checkpoint; if anything fails it says so first and concludes nothing. Otherwise it
lists, for the period, every use and disclosure of a psychotherapy note with actor,
purpose, basis and outcome, every refused attempt, every break-the-glass event (both
stores), and concludes either that no psychotherapy note was released to anyone other
than its originator, or with the exact list of releases and the authorization or legal
exception each rests on. Each listed event carries its log position and an inclusion proof
against the signed checkpoint, so ``verify-bundle`` on an exported bundle can re-check it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from ledger.errors import IntegrityFailure
from ledger.integrity.checkpoint import tree_has
from ledger.primitives import merkle
from ledger.queries import Query
from ledger.services.audit_log import AuditLog
from ledger.stores.store import Store
from ledger.views import AccessRecord

NOTHING_RELEASED = ("no psychotherapy note was released to anyone other than its "
                    "originator")


@dataclass(frozen=True)
class Evidence:
    store: str
    ok: bool
    detail: str
    checkpoint: str | None  # the signed note the proofs are against
    size: int


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
        return all(e.ok for e in self.evidence)

    @property
    def releases(self) -> list[Item]:
        return [i for i in self.items if i.kind == "release"]


class Investigation:
    def __init__(self, main: Store, pn: Store, audit: AuditLog) -> None:
        self.main = main
        self.pn = pn
        self.audit = audit

    def psychotherapy_releases(self, *, by: str, at: datetime, since: date | None = None,
                               until: date | None = None) -> Report:
        """Verify both stores first; then every use, disclosure, refusal and
        break-the-glass event concerning psychotherapy notes, and the conclusion. Reading
        it is recorded (it reads the access logs)."""
        report = Report(since, until, [_evidence(self.main), _evidence(self.pn)])
        if not report.verified:
            return report  # says so first, claims nothing
        pn_records = self.audit.access_log(by=by, at=at, stores=("pn",),
                                           query=Query(since=since, until=until))
        glass = self.audit.access_log(by=by, at=at, stores=("main",), query=Query(
            since=since, until=until, break_glass=True))
        proofs = {e.store: e for e in report.evidence}
        for record in pn_records:
            if record.object_type == "access-log":
                continue
            report.items.append(Item(record, _kind(record), _basis(record), *_proof(
                self.pn, proofs[self.pn.settings.name], record.position)))
        for record in glass:
            report.items.append(Item(record, "break-glass", record.reason, *_proof(
                self.main, proofs[self.main.settings.name], record.position)))
        report.items.sort(key=lambda i: (i.record.at, i.record.store, i.record.position))
        releases = report.releases
        report.conclusion = NOTHING_RELEASED if not releases else (
            f"{len(releases)} release{'s' if len(releases) != 1 else ''} of psychotherapy "
            "notes to someone other than the originator, each listed with its basis")
        return report


def _evidence(store: Store) -> Evidence:
    name = store.settings.name
    chain_report = store.verify(use_known_head=False)
    if not chain_report.ok:
        assert chain_report.damage is not None
        return Evidence(name, False, f"chain DAMAGED at {chain_report.damage.describe()}",
                        None, 0)
    log = store.checkpoints
    latest = log.latest()
    if latest is None:
        return Evidence(name, False, "no signed checkpoint: run ledger checkpoint", None, 0)
    size, root = latest
    if chain_report.events < size:
        return Evidence(name, False, f"the log has {chain_report.events} events but its "
                                     f"signed checkpoint covers {size} (truncated)", None, size)
    try:
        matches = tree_has(store.tree, size, root)
    except IntegrityFailure as e:
        return Evidence(name, False, str(e), None, size)
    if not matches:
        return Evidence(name, False, f"the log no longer has the root of its signed "
                                     f"checkpoint of size {size}", None, size)
    notes = log.notes()
    return Evidence(name, True, f"chain intact ({chain_report.events} events); signed "
                                f"checkpoint of size {size} matches", notes[-1], size)


def _kind(r: AccessRecord) -> str:
    """Any granted read, export or disclosure of a psychotherapy note is a release, except
    the originator's own use for treatment (which the guard grants to the originator only)."""
    if r.outcome != "granted":
        return "break-glass" if r.break_glass else "refused"
    if r.action in ("access", "export", "disclose") and r.object_type == "psychotherapy-note":
        if r.action == "access" and (r.reason or "").startswith("ORIGINATOR_TREATMENT"):
            return "originator use"
        return "release"
    return "other"


def _basis(r: AccessRecord) -> str | None:
    if r.action == "disclose" and r.outcome == "granted":
        return f"{r.reason} ({r.legal_basis})"
    return r.reason


def _proof(store: Store, evidence: Evidence, notification_id: int
           ) -> tuple[tuple[str, ...] | None, str | None, int | None]:
    tree = store.tree
    position = store.event_log.positions_of([notification_id]).get(notification_id)
    if position is None or position > evidence.size:
        return None, None, position  # after the latest checkpoint: not yet provable
    path = tree.inclusion(position, evidence.size)
    leaf = tree.leaf(position)
    assert merkle.verify_inclusion(leaf, position - 1, evidence.size, path,
                                   tree.root(evidence.size))
    return tuple(p.hex() for p in path), leaf.hex(), position
