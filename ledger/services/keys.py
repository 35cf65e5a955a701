"""Key-encryption key versions (epochs): rotation, retirement and their status, for the key
holder (the local commands and the scheduled job; no staff role, as for checkpoints).

A rotation makes a new version in the configured provider and re-wraps every live data key
of the store under it, in batches each committed on its own: killed at any point, the next
run resumes with the same version and re-wraps what is left. Reads work throughout, since
each key is unwrapped by the version its row names. It is recorded in the store's chain
once, when it ends. A retirement destroys a version no live key needs, and is recorded too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from eventsourcing.persistence import IntegrityError

from ledger.aggregates.base import Actor, acting_as, named_id, utc
from ledger.aggregates.key_epoch import KekRetirement, KekRotation
from ledger.errors import BadInput
from ledger.stores.clinical import ClinicalStore

# Who makes the key events: whoever holds the keys (in local mode the OS user is recorded
# beside it, as for every local command).
KEY_HOLDER = Actor(id="key-holder", role="key-holder")
DEFAULT_BATCH = 1000
MAX_BATCH = 100_000
STORES = ("main", "pn")


@dataclass(frozen=True)
class EpochStatus:
    store: str  # main or pn
    version: int
    provider: str
    current: bool
    created_at: datetime | None
    rotated_at: datetime | None  # every live key was re-wrapped under it
    retired_at: datetime | None
    live_keys: int


@dataclass(frozen=True)
class Rotation:
    store: str
    version: int
    resumed: bool  # finished a rotation an earlier run started
    rewrapped: int  # keys re-wrapped by this run
    live_keys: int  # live keys under the new version at the end


class KeyEpochs:
    def __init__(self, stores: Mapping[str, Callable[[], ClinicalStore]],
                 backup_retention_days: int) -> None:
        self._stores = stores
        self.backup_retention_days = backup_retention_days

    def _store(self, name: str) -> ClinicalStore:
        if name not in self._stores:
            raise BadInput(f"store must be one of {', '.join(STORES)}")
        return self._stores[name]()

    def rotate(self, store: str, *, at: datetime, batch: int = DEFAULT_BATCH,
               after_batch: Callable[[int], None] | None = None) -> Rotation:
        """Make the store's KEK version N+1 current and re-wrap every live data key under
        it (or finish the rotation an interrupted run began). ``after_batch(done)`` runs
        after each committed batch."""
        if not 1 <= batch <= MAX_BATCH:
            raise BadInput(f"the batch size must be 1 to {MAX_BATCH}")
        at = utc(at)
        opened = self._store(store)
        ring = opened.keyring
        version, resumed = ring.begin_rotation(at)
        done, after = 0, ""
        while True:
            found, after_next = ring.rewrap(version, batch, after)
            if not found:
                if not after:
                    break  # a whole pass from the first key found none left
                after = ""  # one more pass: keys written meanwhile before the last one
                continue
            done, after = done + found, after_next
            if after_batch is not None:
                after_batch(done)
        live = ring.live_keys().get(version, 0)
        epoch = ring.epochs.get(version)
        assert epoch is not None
        with acting_as(KEY_HOLDER):
            event = KekRotation.complete(
                rotation_id=named_id("kek-rotation", f"{opened.settings.name}:{version}"),
                store=opened.settings.name, version=version,
                started_at=epoch.created_at or at, live_keys=live, at=at)
            with contextlib.suppress(IntegrityError):  # a rerun, or a rotation racing
                opened.save(event)
        ring.epochs.mark(version, "rotated_at", at)
        return Rotation(store, version, resumed, done, live)

    def retire(self, store: str, version: int, *, at: datetime) -> bool:
        """Destroy KEK version ``version`` of the store once no live key needs it; True if
        this call retired it (False: it was retired already; a destruction cut short is
        finished)."""
        at = utc(at)
        opened = self._store(store)
        retired = opened.keyring.retire(version, at)
        with acting_as(KEY_HOLDER):
            event = KekRetirement.record(
                retirement_id=named_id("kek-retirement", f"{opened.settings.name}:{version}"),
                store=opened.settings.name, version=version, at=at)
            with contextlib.suppress(IntegrityError):  # recorded by the run cut short
                opened.save(event)
        return retired

    def status(self, store: str) -> list[EpochStatus]:
        ring = self._store(store).keyring
        epochs = ring.epochs.all()
        live = ring.live_keys()
        current = ring.epochs.current().version
        return [EpochStatus(store, e.version, e.provider, e.version == current, e.created_at,
                            e.rotated_at, e.retired_at, live.get(e.version, 0))
                for e in epochs]

    def needs_rotation(self, store: str) -> bool:
        """Whether a rotation is due: one was cut short, or a key was destroyed under the
        current version (a backup from now on may hold it until that version is retired:
        rotating starts the backup retention's clock)."""
        ring = self._store(store).keyring
        current = ring.epochs.current()
        unfinished = current.rotated_at is None and current.version > 1
        return unfinished or ring.destroyed_keys(current.version) > 0

    def due_for_retirement(self, store: str, at: datetime) -> list[int]:
        """Versions whose successor was made longer ago than the backup retention: every
        backup still kept was taken under a later epoch (README "Key-encryption keys")."""
        epochs = self.status(store)
        cutoff = utc(at) - timedelta(days=self.backup_retention_days)
        due = []
        for e in epochs:
            successor = next((s for s in epochs if s.version > e.version), None)
            if (e.retired_at is None and not e.current and successor is not None
                    and successor.created_at is not None and successor.created_at < cutoff):
                due.append(e.version)
        return due
