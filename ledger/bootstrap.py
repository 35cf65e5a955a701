"""The composition root: builds the applications from settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ledger.integrity.checkpoint import create_signing_key
from ledger.integrity.heads import current_head, parse_head, read_head, record_head
from ledger.integrity.verify import KnownHead, Report, verify_store
from ledger.keys.kek import create_kek, load_kek
from ledger.keys.keyring import AUDIT_SUBJECT
from ledger.settings import Settings, StoreSettings
from ledger.stores.main import MainLedger
from ledger.stores.psychotherapy import PsychotherapyStore
from ledger.stores.store import Store


@dataclass(frozen=True)
class InitResult:
    data_dir: Path
    created_keys: tuple[str, ...]
    kept_keys: tuple[str, ...]


def initialise(settings: Settings, at: datetime) -> InitResult:
    """Create the data directory, the key files (never overwritten) and the stores."""
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    created: list[str] = []
    kept: list[str] = []
    for store in (settings.main, settings.pn):
        (created if create_kek(store) else kept).append(store.name)
    (created if create_signing_key(settings.data_dir) else kept).append("checkpoint-signing")
    app = open_main(settings)
    try:
        pn = open_pn(settings, app)
        try:
            for opened in (app, pn):
                opened.keyring.check_kek(at)
                opened.keyring.ensure_key(AUDIT_SUBJECT, at)
                opened.access_projection.status()  # creates its read tables now
            app.record_set_projection.status()
        finally:
            pn.close()
    finally:
        app.close()
    return InitResult(settings.data_dir, tuple(created), tuple(kept))


def open_main(settings: Settings) -> MainLedger:
    return MainLedger(settings.main, load_kek(settings.main))


def open_pn(settings: Settings, main: MainLedger) -> PsychotherapyStore:
    """The sealed store, asking the main ledger who the staff are and which clients exist."""
    return PsychotherapyStore(settings.pn, load_kek(settings.pn), staff=main.staff_view,
                              client_exists=main.client_exists)


def head_file(settings: Settings, store: StoreSettings) -> Path:
    return settings.heads_dir / f"{store.name}.json"


def remember_head(settings: Settings, app: Store, at: datetime,
                  head: KnownHead | None = None) -> None:
    """Record ``head`` (default: the store's current head) as a known head, outside the DB."""
    if head is None:
        head = current_head(app.engine, app.chained_recorder.chain)
    record_head(head_file(settings, app.settings), head, at)


def verify_one(settings: Settings, app: Store, *, use_known_head: bool = True,
               known_head_override: str | None = None) -> Report:
    rec = app.chained_recorder
    known = (parse_head(known_head_override) if known_head_override
             else read_head(head_file(settings, app.settings)) if use_known_head else None)
    return verify_store(app.engine, rec.events_record_cls.__table__, rec.chain,
                        store=app.settings.name, known_head=known)
