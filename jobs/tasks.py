"""The scheduled tasks, as plain functions: each opens the ledger, calls one service, closes
it, and logs one line (counts and positions, never client data). They read the clock here,
never deeper."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from ledger.bootstrap import open_ledger
from ledger.errors import BadInput, KeyMaterialError
from ledger.settings import load_settings

log = logging.getLogger("ledger.jobs")


def retention_sweep(data_dir: str, actor: str) -> int:
    """The daily purge, run as ``actor`` (whom the roles table must allow), then the key
    epochs: after each purge run both stores' key-encryption keys are rotated and the
    epochs no kept backup needs any more are retired."""
    at = datetime.now(UTC)
    with open_ledger(load_settings(data_dir)) as ledger:
        done = ledger.retention.run(by=actor, at=at)
    log.info("retention sweep at %s as %s: %d client(s) destroyed", at.isoformat(), actor,
             len(done))
    key_epochs(data_dir)
    return len(done)


def key_epochs(data_dir: str) -> int:
    """Rotate each store's key-encryption key if a key was destroyed under the current one
    (its epoch is then closed) or a rotation was cut short, then retire every epoch whose
    successor is older than the backup retention. Returns how many epochs were retired."""
    at = datetime.now(UTC)
    retired = 0
    with open_ledger(load_settings(data_dir)) as ledger:
        for store in ("main", "pn"):
            if ledger.keys.needs_rotation(store):
                r = ledger.keys.rotate(store, at=at)
                log.info("key rotation at %s: %s store: version %d current, %d live key(s)",
                         at.isoformat(), store, r.version, r.live_keys)
            for version in ledger.keys.due_for_retirement(store, at):
                try:
                    ledger.keys.retire(store, version, at=at)
                except (BadInput, KeyMaterialError) as e:  # live keys, or a key in a variable
                    log.error("key retirement at %s: %s store: version %d kept: %s",
                              at.isoformat(), store, version, e)
                    continue
                retired += 1
                log.info("key retirement at %s: %s store: version %d destroyed (older "
                         "than the backup retention of %d days)", at.isoformat(), store,
                         version, ledger.keys.backup_retention_days)
    return retired


def verification(data_dir: str) -> bool:
    """Verify both stores (a clean store's head becomes its known head), then check every
    read model against a replay of its log."""
    at = datetime.now(UTC)
    with open_ledger(load_settings(data_dir)) as ledger:
        reports = ledger.integrity.verify(at=at)
        models = ledger.projections.check()
    for r in reports:
        state = "intact" if r.ok else f"DAMAGED at {r.damage.describe() if r.damage else '?'}"
        log.info("verification at %s: %s: %s, %d events", at.isoformat(), r.store, state,
                 r.events)
    for name, problem in models.items():
        if problem is None:
            log.info("verification at %s: read model %s agrees with the log", at.isoformat(),
                     name)
        else:
            log.error("verification at %s: %s", at.isoformat(), problem)
    return all(r.ok for r in reports) and all(p is None for p in models.values())


def checkpoint(data_dir: str) -> int:
    """A signed checkpoint of each store, every period, also when nothing changed."""
    at = datetime.now(UTC)
    with open_ledger(load_settings(data_dir)) as ledger:
        written = ledger.integrity.checkpoint(at=at)
    for c, path in written:
        log.info("checkpoint at %s: %s size %d -> %s", at.isoformat(), c.origin, c.size,
                 path.name)
    return len(written)
