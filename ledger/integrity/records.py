"""What verification and checkpoints produce: plain records, free of the database and of
the signing code, so that a front end that only displays them (the CLI's remote mode)
can rebuild them from the HTTP service's answers without loading either."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from ledger.primitives.chain import Head

KnownHead = Head  # a head recorded outside the database (position and chain value)


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    time: datetime
    note: str
    chain: bytes | None = None  # the chain value at ``size`` (older notes lack it)
    key: str = ""  # the signing key's fingerprint
    epoch: int = 1  # a restore starts a new epoch (README "Backup and restore")
    restored: Restored | None = None  # how this epoch began, from epoch 2 on
    journal: JournalHead | None = None  # the destruction journal when it was signed

    def describe(self) -> str:
        epoch = f" (epoch {self.epoch})" if self.epoch > 1 else ""
        return (f"checkpoint of size {self.size}{epoch} signed by key {self.key} at "
                f"{self.time.astimezone(UTC).isoformat()}")


@dataclass(frozen=True)
class JournalHead:
    """How far the destruction journal went: its entry count and last entry's hash."""

    entries: int
    digest: bytes


@dataclass(frozen=True)
class Restored:
    """A signed note's record of the restore that began its epoch: the log was restored
    to ``position`` and the ``lost`` events after it (known outside the database then)
    are gone; ``at``: when."""

    position: int
    lost: int
    at: datetime

    def describe(self) -> str:
        return (f"restored from a backup on {self.at.astimezone(UTC).date().isoformat()} to "
                f"position {self.position}, {self.lost} later events lost")


def note_name(checkpoint: Checkpoint) -> str:
    """The file name of an exported note, ``<size>-<time>.note``, from epoch 2 on
    ``e<epoch>-<size>-<time>.note``: names sort by epoch, then size, then time."""
    stamp = checkpoint.time.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    epoch = f"e{checkpoint.epoch:04d}-" if checkpoint.epoch > 1 else ""
    return f"{epoch}{checkpoint.size:012d}-{stamp}.note"


@dataclass(frozen=True)
class Damage:
    kind: str
    position: int
    notification_id: int | None
    detail: str

    def describe(self) -> str:
        if self.position == 0:  # the store as a whole (it could not be read)
            return f"{self.kind}: {self.detail}"
        where = f"position {self.position}"
        if self.notification_id is not None:
            where += f" (notification id {self.notification_id})"
        return f"{where}: {self.kind}: {self.detail}"


@dataclass(frozen=True)
class Mark:
    """The Merkle root and chain value of the verified log at one position."""

    position: int
    root: bytes
    chain: bytes


@dataclass(frozen=True)
class Report:
    store: str
    events: int
    head: KnownHead | None
    damage: Damage | None
    root: bytes | None = None  # the Merkle root recomputed from the verified leaves
    marks: dict[int, Mark] = field(default_factory=dict)
    start: int = 0  # the walk began after this (trusted) position
    restored: Restored | None = None  # the signed log's latest epoch began with a restore
    notice: str | None = None  # something to say that is not damage

    @property
    def ok(self) -> bool:
        return self.damage is None
