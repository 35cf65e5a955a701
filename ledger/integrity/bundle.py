"""Evidence bundles: events as stored, their leaves and chain values, inclusion proofs
against a signed checkpoint, and the consistency of the checkpoints before it.

``export`` hands out only what it has checked against the store's signed notes, read from
their exported files with each signature checked: every event's leaf is recomputed from
the stored event; proofs are made and checked a block at a time
(:mod:`ledger.integrity.proving`); the consistency proofs between consecutive checkpoints
are verified before anything is written.

``verify_bundle`` needs no database and no secret key: the public key of the checkpoint
signer and the files. It recomputes every leaf from the stored event, checks each
inclusion proof against the signed root, that each checkpoint extends the one before,
that the chain links where the positions are contiguous, and that no position in the
exported range is missing. It says exactly what fails, and where.

Layout: ``<dir>/<store>/events.jsonl``, ``checkpoints/*.note``, ``proofs.json``.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ledger.errors import BadInput, IntegrityFailure
from ledger.integrity import proving
from ledger.integrity.checkpoint import parse_note
from ledger.integrity.records import Checkpoint
from ledger.integrity.tree import StoredTree
from ledger.limits import read_note
from ledger.persistence.log import EventLog, StoredRow
from ledger.primitives import merkle, private_files
from ledger.primitives.chain import GENESIS, chain_hash, leaf_hash

STORES = ("main", "psychotherapy")


# ----- what export and proofs rest on --------------------------------------------------------

def out_of_line(store: str, checkpoint: Checkpoint, before: Checkpoint | None) -> str | None:
    """What is wrong with ``checkpoint`` coming after ``before`` in a store's history, if
    anything. Origins end with the store's name and all are one, except that notes made
    before origins were per installation (``ledger/<store>``) may come first."""
    if not checkpoint.origin.endswith(f"/{store}"):
        return f"is for {checkpoint.origin}, not the {store} store"
    if before is not None:
        if before.origin not in (checkpoint.origin, f"ledger/{store}"):
            return f"is for {checkpoint.origin}, the checkpoints before it for {before.origin}"
        if checkpoint.time < before.time or checkpoint.size < before.size:
            return "goes back in time or size"
    return None


def exported_checkpoints(folder: Path, store: str, public_key: bytes
                         ) -> list[tuple[str, Checkpoint]]:
    """Every note exported for ``store`` into ``folder``, by name (size, then time), each
    signature checked: (file name, checkpoint). IntegrityFailure naming the file that does
    not verify or does not follow the one before."""
    found: list[tuple[str, Checkpoint]] = []
    for path in sorted(folder.glob("*.note")) if folder.is_dir() else []:
        text = read_note(path, IntegrityFailure)
        try:
            checkpoint = parse_note(text, public_key)
        except IntegrityFailure as e:
            raise IntegrityFailure(f"{path}: {e}") from None
        problem = out_of_line(store, checkpoint, found[-1][1] if found else None)
        if problem is not None:
            raise IntegrityFailure(f"{path}: the checkpoint {problem}")
        found.append((path.name, checkpoint))
    return found


def event_leaf(store: str, row: StoredRow) -> bytes:
    """The leaf recomputed from the stored event; IntegrityFailure if it is not the one
    the chain records."""
    leaf = leaf_hash(row.notification_id, row.originator_id, row.originator_version,
                     row.topic, row.state)
    if leaf != row.leaf:
        raise IntegrityFailure(f"{store}: position {row.position}: the stored event does not "
                               "match its leaf (edited); run ledger verify")
    return leaf


# ----- export ------------------------------------------------------------------------------

def export(log: EventLog, tree: StoredTree, checkpoints: Sequence[tuple[str, Checkpoint]],
           directory: Path, *, positions: list[int] | None = None) -> int:
    """Write the store's events (all up to its latest checkpoint, or just ``positions``)
    with leaves, chain values and inclusion proofs against that checkpoint, the
    checkpoints (as exported, in order: see :func:`exported_checkpoints`) and the
    consistency proofs between them. Returns the count."""
    latest = checkpoints[-1][1]
    tree.catch_up()
    if tree.size() < latest.size:
        raise IntegrityFailure(f"{log.name}: the log has {tree.size()} events but the "
                               f"{latest.describe()} covers {latest.size}: it was truncated; "
                               "run ledger verify")
    nodes = proving.CachedNodes(tree)
    consistency = _consistency(log.name, [c for _, c in checkpoints], nodes)
    chosen = (sorted({p for p in positions if 1 <= p <= latest.size})
              if positions is not None else None)
    folder = directory / log.name
    private_files.make_dir(folder / "checkpoints")
    for name, checkpoint in checkpoints:
        private_files.write_new(folder / "checkpoints" / name, checkpoint.note.encode("utf-8"))
    with os.fdopen(private_files.create(folder / "events.jsonl"), "w", encoding="utf-8") as out:
        count = _write_events(log, nodes, latest, out, chosen)
    proofs = {"size": latest.size, "positions": chosen, "consistency": consistency}
    private_files.write_new(folder / "proofs.json",
                            json.dumps(proofs, indent=2, sort_keys=True).encode("utf-8"))
    return count


def _consistency(store: str, checkpoints: list[Checkpoint], nodes: merkle.Nodes
                 ) -> list[dict[str, Any]]:
    """A consistency proof between each two consecutive checkpoints, each verified."""
    made = []
    for before, after in itertools.pairwise(checkpoints):
        if before.size == after.size:
            if before.root != after.root:
                raise IntegrityFailure(f"{store}: two signed checkpoints of size {after.size} "
                                       "disagree on the root")
            continue
        if before.size == 0:
            continue
        proof = merkle.consistency_proof(nodes, before.size, after.size)
        if not merkle.verify_consistency(before.size, after.size, before.root, after.root,
                                         proof):
            raise IntegrityFailure(
                f"{store}: the Merkle tree cached in the database does not prove that the "
                f"{after.describe()} extends the one of size {before.size}: the cached nodes "
                "were altered or the log was rewritten; run ledger verify")
        made.append({"old": before.size, "new": after.size, "proof": [p.hex() for p in proof]})
    return made


def _write_events(log: EventLog, nodes: proving.CachedNodes, latest: Checkpoint, out: TextIO,
                  chosen: list[int] | None) -> int:
    count = 0
    rows = log.stored_rows(latest.size, chosen)
    for block, group in itertools.groupby(rows, lambda r: (r.position - 1) >> proving.BLOCK_LEVEL):
        start = block << proving.BLOCK_LEVEL
        length = min(1 << proving.BLOCK_LEVEL, latest.size - start)
        taken = list(group)
        mine = [event_leaf(log.name, row) for row in taken]
        if chosen is None:
            _contiguous(log.name, start, length, [r.position for r in taken])
            leaves = mine
        else:
            found = log.leaves(start, length)
            _contiguous(log.name, start, length, [p for p, _ in found])
            leaves = [leaf for _, leaf in found]
        prove = proving.prover(log.name, proving.Block(start, leaves, nodes), latest)
        for row, leaf in zip(taken, mine, strict=True):
            if leaf != leaves[row.position - 1 - start]:
                raise IntegrityFailure(f"{log.name}: position {row.position}: the chain's "
                                       "leaf changed during the export; run ledger verify")
            out.write(json.dumps({
                "position": row.position, "notification_id": row.notification_id,
                "leaf": leaf.hex(), "chain": row.chain.hex(),
                "originator_id": row.originator_id.hex(),
                "originator_version": row.originator_version, "topic": row.topic,
                "state": base64.b64encode(row.state).decode("ascii"),
                "inclusion": prove(row.position - 1),
            }, sort_keys=True) + "\n")
            count += 1
    if chosen is not None and count != len(chosen):
        raise IntegrityFailure(f"{log.name}: {len(chosen) - count} of the chosen positions "
                               "are missing from the log; run ledger verify")
    return count


def _contiguous(store: str, start: int, length: int, positions: list[int]) -> None:
    for expected, found in itertools.zip_longest(range(start + 1, start + length + 1),
                                                 positions):
        if expected != found:
            raise IntegrityFailure(f"{store}: position {expected or found} is missing from "
                                   "the log; run ledger verify")


# ----- verification ------------------------------------------------------------------------

@dataclass
class BundleReport:
    store: str
    events: int = 0
    checkpoints: int = 0
    size: int = 0
    selected: bool = False  # the bundle holds chosen positions, not the whole log
    latest_time: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_bundle(directory: Path, public_key: bytes,
                  held: Iterable[Checkpoint] = ()) -> list[BundleReport]:
    """``held``: checkpoints the verifier already has, each matched to its store by the
    last part of its origin; the bundle must contain each (so an older bundle cannot pass
    for the whole story)."""
    holding: dict[str, list[Checkpoint]] = {}
    for checkpoint in held:
        name = checkpoint.origin.rsplit("/", 1)[-1]
        if name not in STORES:
            raise BadInput(f"the checkpoint you hold is for {checkpoint.origin}, not a main "
                           "or psychotherapy store")
        holding.setdefault(name, []).append(checkpoint)
    stores = [s for s in STORES if (directory / s).is_dir()]
    if not stores:
        raise BadInput(f"{directory} holds no bundle (no main/ or psychotherapy/ folder)")
    reports = []
    for name in STORES:
        report = BundleReport(name)
        if name not in stores:
            if name in holding:
                report.problems.append(f"the bundle has no {name} folder, but you hold a "
                                       "checkpoint of that store")
                reports.append(report)
            continue
        try:
            _verify_store(directory / name, name, public_key, report, holding.get(name, []))
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            report.problems.append(f"malformed bundle data ({type(e).__name__})")
        reports.append(report)
    return reports


def _verify_store(folder: Path, name: str, public_key: bytes, report: BundleReport,
                  held: list[Checkpoint]) -> None:
    problems = report.problems
    try:
        proofs = json.loads((folder / "proofs.json").read_text(encoding="utf-8"))
        notes = sorted((folder / "checkpoints").glob("*.note"))
    except (OSError, ValueError) as e:
        problems.append(f"unreadable bundle files: {e}")
        return
    checkpoints = _checkpoints(notes, name, public_key, problems)
    if problems or not checkpoints:
        problems.extend([] if checkpoints else ["no valid checkpoint"])
        return
    report.checkpoints = len(checkpoints)
    _check_consistency(checkpoints, proofs.get("consistency", []), problems)
    latest = checkpoints[-1]
    report.size = latest.size
    report.latest_time = latest.time.isoformat()
    for mine in held:
        if not any((c.size, c.root) == (mine.size, mine.root) for c in checkpoints):
            problems.append(f"the checkpoint you hold (size {mine.size}) is not in this "
                            "bundle: it may be older than the log, or from another log")
            return
    if proofs.get("size") != latest.size:
        problems.append(f"proofs are for size {proofs.get('size')}, the latest checkpoint "
                        f"is size {latest.size}")
        return
    listed = proofs.get("positions")
    if listed is not None:
        if (not isinstance(listed, list) or not all(type(p) is int for p in listed)
                or listed != sorted(set(listed))
                or (listed and not (listed[0] >= 1 and listed[-1] <= latest.size))):
            problems.append("the list of positions is malformed (not sorted, unique, in range)")
            return
        report.selected = True
    _check_events(folder / "events.jsonl", listed, latest, report)


def _checkpoints(notes: list[Path], name: str, public_key: bytes,
                 problems: list[str]) -> list[Checkpoint]:
    """The bundle's checkpoints, each signed by the key, for this store, in order."""
    checkpoints: list[Checkpoint] = []
    for path in notes:
        try:
            checkpoint = parse_note(read_note(path, IntegrityFailure), public_key)
        except IntegrityFailure as e:
            problems.append(f"checkpoint {path.name}: {e}")
            continue
        problem = out_of_line(name, checkpoint, checkpoints[-1] if checkpoints else None)
        if problem is not None:
            problems.append(f"checkpoint {path.name} {problem}")
        checkpoints.append(checkpoint)
    return checkpoints


def _check_consistency(checkpoints: list[Checkpoint], given: list[dict[str, Any]],
                       problems: list[str]) -> None:
    consistency = {(c["old"], c["new"]): [bytes.fromhex(p) for p in c["proof"]]
                   for c in given}
    for before, after in itertools.pairwise(checkpoints):
        if before.size == after.size:
            if before.root != after.root:
                problems.append(f"checkpoints of size {after.size} disagree on the root")
        elif before.size == 0:
            continue
        elif not merkle.verify_consistency(before.size, after.size, before.root, after.root,
                                           consistency.get((before.size, after.size), [])):
            problems.append(f"checkpoint of size {after.size} does not extend the one of "
                            f"size {before.size}")


def _check_events(path: Path, listed: list[int] | None, latest: Checkpoint,
                  report: BundleReport) -> None:
    problems = report.problems
    wanted = iter(listed if listed is not None else range(1, latest.size + 1))
    included = Inclusion(latest.size, latest.root)
    previous = (0, GENESIS)
    rows = _rows(path, problems)
    for row in rows:
        position = int(row["position"])
        where = f"position {position}"
        expected = next(wanted, None)
        if position != expected:
            problems.append(_misplaced(position, expected, rows))
            return
        leaf = leaf_hash(int(row["notification_id"]), bytes.fromhex(row["originator_id"]),
                         int(row["originator_version"]), row["topic"],
                         base64.b64decode(row["state"], validate=True))
        if leaf.hex() != row["leaf"]:
            problems.append(f"{where}: the event does not match its leaf (edited)")
            return
        if not included.check(leaf, position - 1, row["inclusion"]):
            problems.append(f"{where}: not included in the signed tree of size "
                            f"{latest.size} (inserted, reordered or rewritten)")
            return
        if (previous[0] == position - 1
                and chain_hash(position, previous[1], leaf).hex() != row["chain"]):
            problems.append(f"{where}: the chain does not link")
            return
        previous = (position, bytes.fromhex(row["chain"]))
        report.events += 1
    missing = next(wanted, None)
    if missing is not None and not problems:
        problems.append(f"position {missing}: missing from the bundle (it ends early)")


def _misplaced(position: int, expected: int | None, rest: Iterator[dict[str, Any]]) -> str:
    """Why ``position`` came where ``expected`` was due (the rest of the rows tell)."""
    if expected is None:
        return f"position {position}: out of order or repeated (not in the bundle's range)"
    if position < expected:
        return f"position {position}: out of order or repeated (position {expected} was due)"
    if any(isinstance(r, dict) and r.get("position") == expected for r in rest):
        return f"position {expected}: reordered (it comes after position {position})"
    return f"position {expected}: missing from the bundle (found {position} next)"


def _rows(path: Path, problems: list[str]) -> Iterator[dict[str, Any]]:
    try:
        with path.open(encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                try:
                    yield json.loads(line)
                except ValueError:
                    problems.append(f"events.jsonl line {n}: not JSON")
                    return
    except OSError as e:
        problems.append(f"cannot read {path.name}: {e.strerror}")


class Inclusion:
    """Checks inclusion proofs (hex) against one signed root for leaves in increasing
    order, with the verdict of :func:`merkle.verify_inclusion` at a few hashes a leaf.

    Two leaves in one complete subtree of 2**m leaves take the same steps above it: the
    same hashes from the proof, from the same subtree hash. So once a leaf's proof has
    verified in full, the next leaf's is recomputed up to the smallest complete subtree
    holding both, where it must reach the hash the verified one reached, and the rest of
    its proof must be the verified proof's rest; anything else is checked in full."""

    def __init__(self, size: int, root: bytes) -> None:
        self.size, self.root = size, root
        self.index = -1
        self.path: list[str] = []
        self.climbed: list[bytes] = []  # the verified leaf's subtree hashes, level by level

    def check(self, leaf: bytes, index: int, path: list[str]) -> bool:
        if not isinstance(path, list):
            raise TypeError("an inclusion proof is a list")
        shared = (index ^ self.index).bit_length()  # the level of the subtree holding both
        if (self.index < index and shared < len(self.climbed)
                and len(path) == len(self.path) and path[shared:] == self.path[shared:]):
            low = _climb(leaf, index, path, shared)
            if low[-1] == self.climbed[shared]:
                self.index, self.path = index, path
                self.climbed = low + self.climbed[shared + 1:]
                return True
        if not merkle.verify_inclusion(leaf, index, self.size,
                                       [bytes.fromhex(p) for p in path], self.root):
            return False
        self.index, self.path = index, path
        self.climbed = _climb(leaf, index, path, min(_complete(index, self.size), len(path)))
        return True


def _climb(leaf: bytes, index: int, path: list[str], levels: int) -> list[bytes]:
    """The hashes of the complete subtrees holding the leaf, from level 0 to ``levels``."""
    hashes = [leaf]
    for level in range(levels):
        sibling = bytes.fromhex(path[level])
        hashes.append(merkle.hash_children(sibling, hashes[-1]) if index >> level & 1
                      else merkle.hash_children(hashes[-1], sibling))
    return hashes


def _complete(index: int, size: int) -> int:
    """The highest level at which the subtree holding leaf ``index`` is complete."""
    level = 0
    while ((index >> (level + 1)) + 1) << (level + 1) <= size:
        level += 1
    return level
