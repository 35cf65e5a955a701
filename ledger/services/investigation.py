"""The investigator's report on psychotherapy notes: were any released, to whom, on what
basis, and what evidence does the answer rest on.

It rests on the log, not on anything derived from it. For each store it walks the whole
chain against the known head, recomputes the Merkle root from the verified leaves, and
checks it against the latest signed checkpoint read from its exported file (signature
checked with the public key); if anything fails it says so first and concludes nothing.
The uses, disclosures, refusals and break-the-glass events are decoded from the verified
events in the same pass, and each read model the reports use is compared with that
replay: a read model that disagrees is named, with where, and fails the report too.

It lists, for the period, every use and disclosure of a psychotherapy note with actor,
purpose, basis and outcome, every refused attempt, every break-the-glass event (both
stores), and concludes either that no psychotherapy note was released to anyone other
than its originator, or with the exact list of releases and the authorization or legal
exception each rests on. Each listed event up to the signed checkpoint carries an
inclusion proof checked against the signed root, so ``verify-bundle`` can re-check it.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, datetime

from ledger.aggregates.base import utc
from ledger.errors import IntegrityFailure
from ledger.integrity.attest import attest
from ledger.integrity.findings import Evidence, Item, Report
from ledger.integrity.proving import prove
from ledger.keys.signing import key_paths, load_public_key
from ledger.projections.base import Projection
from ledger.projections.check import ReplayCheck
from ledger.rules import roles
from ledger.services.audited import Attempt
from ledger.services.integrity import Integrity
from ledger.stores.clinical import ACCESS_TOPICS, ClinicalStore
from ledger.stores.main import MainStore
from ledger.views import AccessRecord

NOTHING_RELEASED = ("no psychotherapy note was released to anyone other than its "
                    "originator")


@dataclass
class _Pass:
    """What one walk over a store collects: its items and its read models' comparison."""

    store: ClinicalStore
    candidate: Callable[[object], bool]  # a cheap first look at the decoded event
    wanted: Callable[[AccessRecord], bool]
    checks: list[ReplayCheck]
    found: list[tuple[int, AccessRecord]] = field(default_factory=list)
    unreadable: str | None = None  # the first event whose sealed content does not open

    def __call__(self, position: int, raw: object) -> None:
        topic = getattr(raw, "topic")  # noqa: B009
        if self.unreadable is not None or (
                topic not in ACCESS_TOPICS and not any(topic in c.topics for c in self.checks)):
            return
        nid = getattr(raw, "id")  # noqa: B009
        try:
            event = self.store.event_log.decode_stored(
                nid, getattr(raw, "originator_id"), getattr(raw, "version"),  # noqa: B009
                topic, getattr(raw, "state"))  # noqa: B009
        except Exception as e:
            self.unreadable = (f"the event at position {position} cannot be read "
                               f"({type(e).__name__}): its stored content was altered")
            return
        for check in self.checks:
            check.feed(nid, topic, event)
        if topic in ACCESS_TOPICS and self.candidate(event):
            record = self.store.access_record(nid, event)
            if self.wanted(record):
                self.found.append((position, record))


class Investigation:
    def __init__(self, main: MainStore, pn: ClinicalStore, integrity: Integrity) -> None:
        self.main = main
        self.pn = pn
        self.integrity = integrity

    def psychotherapy_releases(self, *, by: str, at: datetime, since: date | None = None,
                               until: date | None = None) -> Report:
        """Verify both stores from their logs first; then every use, disclosure, refusal
        and break-the-glass event concerning psychotherapy notes, and the conclusion.
        Reading it is recorded in both stores (it reads their access logs)."""
        at = utc(at)

        def in_period(r: AccessRecord) -> bool:
            day = r.at.date()
            return (since is None or day >= since) and (until is None or day <= until)

        public = load_public_key(key_paths(self.integrity.settings.keys)[1])
        with ExitStack() as stack:
            attempts = []
            for store in (self.main, self.pn):
                attempt = stack.enter_context(Attempt(store, by, "list", "access-log", at=at))
                attempt.decide(roles.READ_AUDIT, what="access log")
                attempts.append(attempt)
            passes = [
                _Pass(self.main, lambda e: bool(getattr(e, "break_glass", False)),
                      lambda r: r.break_glass and in_period(r),
                      _checks([("access-main", self.main.access_projection),
                               ("record-set", self.main.record_set_projection)])),
                _Pass(self.pn, lambda e: True,
                      lambda r: r.object_type != "access-log" and in_period(r),
                      _checks([("access-pn", self.pn.access_projection)])),
            ]
            report = Report(since, until, [self._evidence(p, public) for p in passes])
            for attempt in attempts:
                attempt.commit()
        if not all(e.ok or e.read_models for e in report.evidence):
            return report  # the log itself failed: say so first, claim nothing
        for p, evidence in zip(passes, report.evidence, strict=True):
            report.items += _items(p, evidence, in_main=p.store is self.main)
        report.items.sort(key=lambda i: (i.record.at, i.record.store, i.record.position))
        releases = report.releases
        report.conclusion = NOTHING_RELEASED if not releases else (
            f"{len(releases)} release{'s' if len(releases) != 1 else ''} of psychotherapy "
            "notes to someone other than the originator, each listed with its basis")
        return report

    def _evidence(self, p: _Pass, public: bytes) -> Evidence:
        store = p.store
        name = store.settings.name
        try:
            signed = self.integrity.latest_signed(store, public)
        except IntegrityFailure as e:
            return Evidence(name, False, str(e), None, 0)
        if signed is None:
            return Evidence(name, False, "no signed checkpoint: run ledger checkpoint", None, 0)
        attested = attest(store.event_log, store.tree, signed, store.heads.read(),
                          incremental=False, on_event=p)
        if not attested.ok:
            return Evidence(name, False, attested.describe(), None, signed.size)
        if p.unreadable is not None:
            return Evidence(name, False, p.unreadable, None, signed.size)
        differences = [d for c in p.checks if (d := c.finish(store.event_log.last_id()))]
        detail = attested.describe()
        if differences:
            detail = "; ".join(d.describe() for d in differences) + f" (the log: {detail})"
        return Evidence(name, not differences, detail, signed.note, signed.size,
                        attested.report.events, tuple(d.read_model for d in differences),
                        signed)


def _checks(models: list[tuple[str, Projection]]) -> list[ReplayCheck]:
    checks = []
    for name, projection in models:
        projection.catch_up()  # so the comparison covers the whole log
        checks.append(ReplayCheck(projection, name))
    return checks


def _items(p: _Pass, evidence: Evidence, *, in_main: bool) -> list[Item]:
    """The pass's events as report items, each up to the signed size with its inclusion
    proof, checked against the signed root (:mod:`ledger.integrity.proving`)."""
    proofs: dict[int, tuple[list[str], bytes]] = {}
    signed = evidence.signed
    if signed is not None:
        proofs = prove(p.store.event_log, p.store.tree,
                       [pos for pos, _ in p.found if pos <= signed.size], signed)
    items = []
    for position, record in p.found:
        proof, leaf = proofs.get(position, (None, None))
        items.append(Item(record, "break-glass" if in_main else _kind(record),
                          record.reason if in_main else _basis(record),
                          tuple(proof) if proof is not None else None,
                          leaf.hex() if leaf is not None else None, position))
    return items


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
        asserted = f"; {r.actor_id} asserted: {r.assertion}" if r.assertion else ""
        return f"{r.reason} ({r.legal_basis}){asserted}"
    return r.reason
