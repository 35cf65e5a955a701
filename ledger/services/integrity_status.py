"""Each store's latest signed checkpoint as a person may rely on it: read from its exported
note and its signature checked with the checkpoint public key, never from the checkpoint
table's columns (derived data is a cache). Where the table's latest row claims a size or
root that the signed note does not, that is said, and the signed note is what is shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ledger.aggregates.base import utc
from ledger.errors import IntegrityFailure, LedgerError
from ledger.integrity.records import Checkpoint
from ledger.keys.signing import key_paths, load_public_key
from ledger.services.integrity import Integrity
from ledger.stores.store import Store


@dataclass(frozen=True)
class CheckpointStatus:
    store: str
    signed: Checkpoint | None  # its signature verified with the public key
    age: timedelta | None  # at the time asked
    problem: str | None = None  # why no checkpoint could be verified
    table_disagrees: str | None = None  # the table's latest row, where it differs


def checkpoint_status(integrity: Integrity, stores: Sequence[Store], *, at: datetime
                      ) -> list[CheckpointStatus]:
    """Each store's latest signed checkpoint, verified, and its age at ``at``."""
    at = utc(at)
    path = key_paths(integrity.settings.keys)[1]
    try:
        public = load_public_key(path)
    except LedgerError as e:
        return [CheckpointStatus(s.settings.name, None, None,
                                 f"no checkpoint can be verified: {e}") for s in stores]
    return [_status(integrity, store, public, at) for store in stores]


def _status(integrity: Integrity, store: Store, public: bytes, at: datetime
            ) -> CheckpointStatus:
    name = store.settings.name
    try:
        signed = integrity.latest_signed(store, public)
    except IntegrityFailure as e:
        return CheckpointStatus(name, None, None, str(e))
    row = store.checkpoints.last_row()
    if signed is None:
        return CheckpointStatus(name, None, None, "no signed checkpoint yet: run "
                                "'ledger checkpoint' (or the scheduler's checkpoint job)")
    disagrees = None
    if row is not None and row[2] >= signed.time and (row[0], row[1]) != (signed.size,
                                                                          signed.root):
        disagrees = (f"the database's checkpoint table says size {row[0]} with root "
                     f"{row[1].hex()[:16]}…, which the signed checkpoint does not: the "
                     "table was edited (the signed note is what counts)")
    return CheckpointStatus(name, signed, at - utc(signed.time), None, disagrees)
