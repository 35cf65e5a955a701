"""Evidence bundles: events as stored, their leaves and chain values, inclusion proofs
against a signed checkpoint, and the consistency of the checkpoints before it.

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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledger.errors import BadInput, IntegrityFailure
from ledger.integrity.checkpoint import Checkpoint, CheckpointLog, parse_note
from ledger.primitives import merkle
from ledger.primitives.chain import GENESIS, chain_hash, leaf_hash

STORES = ("main", "psychotherapy")


def export(checkpoints: CheckpointLog, directory: Path, *,
           positions: list[int] | None = None) -> int:
    """Write the store's events (all up to its latest checkpoint, or just ``positions``)
    with leaves, chain values and inclusion proofs against that checkpoint, the
    checkpoints, and the consistency proofs between them. Returns the count."""
    log, tree = checkpoints.log, checkpoints.tree
    notes = checkpoints.notes()
    if not notes:
        raise BadInput(f"the {log.name} store has no checkpoint yet; run "
                       "ledger checkpoint first")
    size = checkpoints.latest_size()
    chosen = sorted({p for p in positions if p <= size}) if positions is not None else None
    tree.catch_up()
    folder = directory / log.name
    (folder / "checkpoints").mkdir(parents=True, exist_ok=False)
    for i, note in enumerate(notes):
        (folder / "checkpoints" / f"{i:06d}.note").write_text(note, encoding="utf-8")
    count = 0
    with (folder / "events.jsonl").open("w", encoding="utf-8") as out:
        for row in log.stored_rows(size, chosen):
            out.write(json.dumps({
                "position": row.position, "notification_id": row.notification_id,
                "leaf": row.leaf.hex(), "chain": row.chain.hex(),
                "originator_id": row.originator_id.hex(),
                "originator_version": row.originator_version, "topic": row.topic,
                "state": base64.b64encode(row.state).decode("ascii"),
                "inclusion": [p.hex() for p in tree.inclusion(row.position, size)],
            }, sort_keys=True) + "\n")
            count += 1
    sizes = checkpoints.sizes()
    proofs = {
        "size": size, "positions": chosen,
        "consistency": [{"old": a, "new": b, "proof": [p.hex() for p in tree.consistency(a, b)]}
                        for a, b in itertools.pairwise(sizes) if 0 < a < b],
    }
    (folder / "proofs.json").write_text(json.dumps(proofs, indent=2, sort_keys=True),
                                        encoding="utf-8")
    return count


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
                  held: dict[str, tuple[int, bytes]] | None = None) -> list[BundleReport]:
    """``held``: checkpoints the verifier already has, by origin; the bundle must contain
    each (so an older bundle cannot pass for the whole story)."""
    reports = []
    stores = [s for s in STORES if (directory / s).is_dir()]
    if not stores:
        raise BadInput(f"{directory} holds no bundle (no main/ or psychotherapy/ folder)")
    for name in stores:
        report = BundleReport(name)
        try:
            _verify_store(directory / name, name, public_key, report,
                          (held or {}).get(f"ledger/{name}"))
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            report.problems.append(f"malformed bundle data ({type(e).__name__})")
        reports.append(report)
    return reports


def _verify_store(folder: Path, name: str, public_key: bytes, report: BundleReport,
                  held: tuple[int, bytes] | None) -> BundleReport:
    problems = report.problems
    try:
        proofs = json.loads((folder / "proofs.json").read_text(encoding="utf-8"))
        notes = sorted((folder / "checkpoints").glob("*.note"))
    except (OSError, ValueError) as e:
        problems.append(f"unreadable bundle files: {e}")
        return report
    checkpoints = _checkpoints(notes, name, public_key, problems)
    if problems or not checkpoints:
        problems.extend([] if checkpoints else ["no valid checkpoint"])
        return report
    report.checkpoints = len(checkpoints)
    consistency = {(c["old"], c["new"]): [bytes.fromhex(p) for p in c["proof"]]
                   for c in proofs.get("consistency", [])}
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
    latest = checkpoints[-1]
    report.size = latest.size
    report.latest_time = latest.time.isoformat()
    if held is not None and not any((c.size, c.root) == held for c in checkpoints):
        problems.append(f"the checkpoint you hold (size {held[0]}) is not in this bundle: it "
                        "may be older than the log, or from another log")
        return report
    if proofs.get("size") != latest.size:
        problems.append(f"proofs are for size {proofs.get('size')}, the latest checkpoint "
                        f"is size {latest.size}")
        return report
    listed = proofs.get("positions")
    if listed is not None:
        if (not isinstance(listed, list) or not all(type(p) is int for p in listed)
                or listed != sorted(set(listed)) or (listed and not listed[0] >= 1
                                                     and listed[-1] <= latest.size)):
            problems.append("the list of positions is malformed (not sorted, unique, in range)")
            return report
        report.selected = True
    wanted = iter(listed if listed is not None else range(1, latest.size + 1))
    previous: tuple[int, bytes] | None = (0, GENESIS)
    for row in _rows(folder / "events.jsonl", problems):
        position = int(row["position"])
        where = f"position {position}"
        expected = next(wanted, None)
        if position != expected:
            problems.append(
                f"{where}: out of order or repeated" if expected is None or position < expected
                else f"position {expected}: missing from the bundle (found {position} next)")
            return report
        leaf = leaf_hash(int(row["notification_id"]), bytes.fromhex(row["originator_id"]),
                         int(row["originator_version"]), row["topic"],
                         base64.b64decode(row["state"]))
        if leaf.hex() != row["leaf"]:
            problems.append(f"{where}: the event does not match its leaf (edited)")
            return report
        if not merkle.verify_inclusion(leaf, position - 1, latest.size,
                                       [bytes.fromhex(p) for p in row["inclusion"]],
                                       latest.root):
            problems.append(f"{where}: not included in the signed tree of size "
                            f"{latest.size} (inserted, reordered or rewritten)")
            return report
        if (previous is not None and previous[0] == position - 1
                and chain_hash(position, previous[1], leaf).hex() != row["chain"]):
            problems.append(f"{where}: the chain does not link")
            return report
        previous = (position, bytes.fromhex(row["chain"]))
        report.events += 1
    missing = next(wanted, None)
    if missing is not None:
        problems.append(f"position {missing}: missing from the bundle (it ends early)")
    return report


def _checkpoints(notes: list[Path], name: str, public_key: bytes,
                 problems: list[str]) -> list[Checkpoint]:
    """The bundle's checkpoints, each signed by the key, for this store, in order."""
    checkpoints: list[Checkpoint] = []
    for path in notes:
        try:
            checkpoint = parse_note(path.read_text(encoding="utf-8"), public_key)
        except (IntegrityFailure, UnicodeDecodeError) as e:
            problems.append(f"checkpoint {path.name}: {e}")
            continue
        if checkpoint.origin != f"ledger/{name}":
            problems.append(f"checkpoint {path.name} is for {checkpoint.origin}, not "
                            f"ledger/{name}")
        if checkpoints and (checkpoint.time < checkpoints[-1].time
                            or checkpoint.size < checkpoints[-1].size):
            problems.append(f"checkpoint {path.name} goes back in time or size")
        checkpoints.append(checkpoint)
    return checkpoints


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
