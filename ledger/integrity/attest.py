"""What a store's log is, established from the log itself against its latest signed
checkpoint, and the next checkpoint signed only over that.

``attest`` walks the chain (against the known head), recomputes the Merkle root from the
verified leaves in the same pass, and checks the signed checkpoint: the root and chain
value at its size must be the signed ones. In full mode the walk starts at the first
event (the investigator's report); incrementally it starts at the signed checkpoint,
whose stored chain value must be the signed one and whose cached Merkle frontier must
hash to the signed root, so a new checkpoint costs O(events since the last one).

Nothing here trusts the Merkle node table or the checkpoint table: cached nodes are used
only once they are checked against a signed root or recomputed leaves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ledger.errors import IntegrityFailure
from ledger.integrity.checkpoint import make_note, parse_note
from ledger.integrity.records import Checkpoint, JournalHead, Report
from ledger.integrity.tree import StoredTree
from ledger.integrity.verify import OnEvent, Start, verify_store
from ledger.persistence.log import EventLog
from ledger.primitives import merkle
from ledger.primitives.chain import Head
from ledger.primitives.crypto import signing_public_key


@dataclass(frozen=True)
class Attestation:
    store: str
    report: Report  # the chain walk (its root is recomputed from the verified leaves)
    signed: Checkpoint | None  # the latest signed checkpoint it was checked against
    known: Head | None  # the head recorded outside the database, if any
    problem: str | None  # None: the log is intact and extends the signed checkpoint

    @property
    def ok(self) -> bool:
        return self.problem is None

    def describe(self) -> str:
        """What the conclusion rests on, in words."""
        if self.problem is not None:
            return self.problem
        r = self.report
        walk = (f"chain verified from position {r.start + 1} to {r.events}" if r.start
                else f"chain verified to position {r.events}")
        heads = ("no known head recorded (events after the last checkpoint rest on the "
                 "database alone)" if self.known is None
                 else f"known head at position {self.known.position} matched")
        signed = ("no signed checkpoint yet" if self.signed is None
                  else f"matches the {self.signed.describe()}")
        return f"{walk}; {heads}; root recomputed from the leaves; {signed}"


def attest(log: EventLog, tree: StoredTree, signed: Checkpoint | None, known: Head | None,
           *, incremental: bool, on_event: OnEvent | None = None) -> Attestation:
    """Verify the log and check it against ``signed`` (never raises for damage)."""
    if incremental and signed is not None and signed.chain is not None:
        try:
            frontier = _frontier(tree, signed)
        except IntegrityFailure as e:
            return _failed(log, signed, known, str(e))
        report = verify_store(log.engine, log.events, log.chain, store=log.name,
                              known_head=known, on_event=on_event, roots=True,
                              start=Start(signed.size, signed.chain, frontier))
        return Attestation(log.name, report, signed, known, _chain_problem(report, signed))
    marks = frozenset({signed.size}) if signed is not None and signed.size else frozenset()
    report = verify_store(log.engine, log.events, log.chain, store=log.name,
                          known_head=known, marks=marks, on_event=on_event, roots=True)
    problem = _chain_problem(report, signed)
    if problem is None and signed is not None and signed.size:
        mark = report.marks[signed.size]
        if mark.root != signed.root:
            problem = (f"the log no longer has the root of the {signed.describe()}: events "
                       f"up to position {signed.size} were rewritten")
        elif signed.chain is not None and mark.chain != signed.chain:
            problem = (f"the chain at position {signed.size} is not the one the "
                       f"{signed.describe()} records: it was recomputed")
    return Attestation(log.name, report, signed, known, problem)


def _chain_problem(report: Report, signed: Checkpoint | None) -> str | None:
    if report.damage is not None:
        return f"chain DAMAGED at {report.damage.describe()}"
    if signed is not None and report.events < signed.size:
        return (f"the log has {report.events} events but the {signed.describe()} covers "
                f"{signed.size}: it was truncated")
    return None


def _failed(log: EventLog, signed: Checkpoint, known: Head | None, problem: str
            ) -> Attestation:
    return Attestation(log.name, Report(log.name, 0, None, None), signed, known, problem)


def _frontier(tree: StoredTree, signed: Checkpoint) -> merkle.Frontier:
    """The cached nodes at the signed size, checked against the signed root."""
    tree.catch_up()
    if tree.size() < signed.size:
        raise IntegrityFailure(f"the log has {tree.size()} events but the "
                               f"{signed.describe()} covers {signed.size}: it was truncated")
    frontier = merkle.Frontier(signed.size, tree.read_nodes(merkle.Frontier.blocks(signed.size)))
    if frontier.root() != signed.root:
        raise IntegrityFailure(f"the stored Merkle tree no longer has the root of the "
                               f"{signed.describe()}: the log or its tree was rewritten")
    return frontier


def sign_next(log: EventLog, tree: StoredTree, *, private: bytes, origin: str, at: datetime,
              signed: Checkpoint | None, known: Head | None,
              journal: JournalHead | None = None) -> tuple[Checkpoint, Head | None]:
    """The next checkpoint, signed only over a chain verified since ``signed``, a root
    recomputed from the verified leaves and a consistency proof from ``signed`` checked
    (IntegrityFailure otherwise, naming the store). Returns it and the verified head."""
    attested = attest(log, tree, signed, known, incremental=True)
    if attested.problem is not None:
        raise IntegrityFailure(f"{log.name}: {attested.problem}; no checkpoint signed")
    report = attested.report
    size, root = report.events, report.root
    assert root is not None
    tree.catch_up()
    if tree.size() < size or tree.root(size) != root:
        raise IntegrityFailure(f"{log.name}: the stored Merkle tree disagrees with the "
                               f"verified leaves up to position {size}; no checkpoint signed")
    if signed is not None and signed.size:
        proof = tree.consistency(signed.size, size)
        if not merkle.verify_consistency(signed.size, size, signed.root, root, proof):
            raise IntegrityFailure(f"{log.name}: the log of size {size} does not extend the "
                                   f"{signed.describe()}; no checkpoint signed")
    chain = report.head.chain if report.head is not None else None
    epoch, restored = (signed.epoch, signed.restored) if signed is not None else (1, None)
    note = make_note(origin, size, root, at, private, chain, epoch=epoch, restored=restored,
                     journal=journal)
    return parse_note(note, signing_public_key(private)), report.head
