"""The composition root: opens the stores from settings and hands out the services.

``open_ledger(settings)`` is the one way to open the ledger: the CLI, the jobs, the tests
and an integrator's program all use it. The sealed psychotherapy-note store is opened only
when a service needs it; it asks the main store who the staff are and which clients exist
through two lookups passed in here, so neither store imports the other.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self
from uuid import UUID

from ledger.aggregates.base import utc
from ledger.errors import BadInput, KeyMaterialError, NotInitialised
from ledger.keys.kek import Providers, missing
from ledger.keys.keyring import AUDIT_SUBJECT
from ledger.keys.pseudonyms import (
    PseudonymRecord,
    Pseudonyms,
    create_secret,
    missing_secret,
    open_pseudonyms,
    secret_available,
)
from ledger.keys.signing import create_signing_key, key_paths, load_signing_key
from ledger.primitives import private_files
from ledger.rules.retention import load as load_rules
from ledger.settings import Settings, StoreSettings
from ledger.stores.clinical import ClinicalStore
from ledger.stores.main import MainStore
from ledger.stores.store import KekSource

# Each service module is imported when its service is first used, so a command that needs
# one service does not pay for loading the others (start-up time, README "Python API").
if TYPE_CHECKING:
    from ledger.services.audit_log import AuditLog
    from ledger.services.authentication import Authenticator
    from ledger.services.authorizations import Authorizations
    from ledger.services.clients import Clients
    from ledger.services.console_sessions import ConsoleSessions
    from ledger.services.evidence import EvidenceService
    from ledger.services.importing import HistoryImport
    from ledger.services.integrity import Integrity
    from ledger.services.investigation import Investigation
    from ledger.services.keys import KeyEpochs
    from ledger.services.notes import ProgressNotes
    from ledger.services.projections import Projections
    from ledger.services.proofs import Proofs
    from ledger.services.psychotherapy import PsychotherapyNotes
    from ledger.services.record_set import RecordSets
    from ledger.services.retention import Retention
    from ledger.services.staff import Staff
    from ledger.services.tokens import Tokens
    from ledger.stores.psychotherapy import PsychotherapyStore


@dataclass(frozen=True)
class InitResult:
    data_dir: Path
    created_keys: tuple[str, ...]
    kept_keys: tuple[str, ...]
    # Directories that were open to other users, with the mode each had, now 0700.
    tightened: tuple[tuple[Path, int], ...] = ()
    legacy_client_ids: bool = False  # the stores keep the public UUIDv5 client ids


class Ledger:
    """Both stores, opened from settings, and the services over them. Close it (or use it
    in a ``with`` block) when done."""

    def __init__(self, settings: Settings, *, new_store: bool = False) -> None:
        load_rules()  # validated before anything opens: a malformed rule stops here
        self.settings = settings
        self.keks = Providers(settings)
        try:
            self._check_kek(settings.main)
            self.main = MainStore(settings.main, self._kek_source(settings.main))
        except BaseException:
            self.keks.close()
            raise
        self._stores: dict[str, ClinicalStore] = {"main": self.main}
        self._record = PseudonymRecord(self.main.engine, settings.main.schema)
        self._pseudonyms: Pseudonyms | None = None
        try:
            if new_store or (self._record.read() is None and not self._holds_data()):
                # A new store is keyed from its first event: its record is written now.
                self._pseudonyms = open_pseudonyms(settings, self._record, self._holds_data,
                                                   new=True)
        except BaseException:
            self.main.close()
            self.keks.close()
            raise

    def _check_kek(self, store: StoreSettings) -> None:
        """Before a store is opened (and a database file made): its current KEK version is
        where it was made and can be read (a key file others may read is refused), else the
        store is not initialised, or its key is lost."""
        configured = self.keks.get(store)
        if configured.name == "file" and configured.exists(1):
            configured.load(1)  # the usual case, decided without the database
            return
        from ledger.stores.probe import kek_versions  # noqa: PLC0415

        version, name = (kek_versions(store) or [(1, self.keks.configured)])[-1]
        provider = self.keks.get(store, name)
        if not provider.exists(version):
            where = (str(store.kek_file) if (version, name) == (1, "file")
                     else f"its {name} provider")
            raise NotInitialised(missing(store, version, where))
        provider.load(version)

    def _kek_source(self, store: StoreSettings) -> KekSource:
        """The store's KEK providers by name (None: the configured one)."""
        return lambda name: self.keks.get(store, name)

    def _holds_data(self) -> bool:
        from ledger.stores.probe import holds_data  # noqa: PLC0415

        return holds_data(self.settings.main) or holds_data(self.settings.pn)

    @property
    def pseudonyms(self) -> Pseudonyms:
        """How client references become client ids, the same for both stores: keyed by the
        installation's pseudonym secret (read when first needed), or legacy for stores
        made before it."""
        if self._pseudonyms is None:
            self._pseudonyms = open_pseudonyms(self.settings, self._record, self._holds_data)
        return self._pseudonyms

    def client_id(self, client_ref: str) -> UUID:
        """The id audit metadata names the client by (for ``Query(client_id=...)``). The
        services get client ids through this, so the secret is read only by a use that
        names a client."""
        return self.pseudonyms.client_id(client_ref)

    @property
    def legacy_client_ids(self) -> bool:
        """Whether the stores use the legacy, reversible client ids (no secret is read)."""
        if self._pseudonyms is not None:
            return not self._pseudonyms.keyed
        return self._record.read() is None and self._holds_data()

    @cached_property
    def pn(self) -> PsychotherapyStore:
        """The sealed psychotherapy-note store (opened when first needed)."""
        from ledger.stores.psychotherapy import PsychotherapyStore  # noqa: PLC0415

        self._check_kek(self.settings.pn)
        store = PsychotherapyStore(self.settings.pn, self._kek_source(self.settings.pn),
                                   staff=self.main.staff_view,
                                   client_exists=self.main.client_exists)
        self._stores["pn"] = store
        return store

    def store(self, name: str) -> ClinicalStore:
        """A store by its short name: ``main`` or ``pn``."""
        return self.main if name == "main" else self.pn

    def _sealed(self, aggregate_id: UUID) -> str | None:
        """What ``aggregate_id`` names in the sealed store, if anything: ``note`` or
        ``other`` (the main store's services stop before recording such an id)."""
        if not self.pn.holds(aggregate_id):
            return None
        return "note" if self.pn.has_note(aggregate_id) else "other"

    # ----- the services --------------------------------------------------------------------

    @cached_property
    def staff(self) -> Staff:
        from ledger.services.staff import Staff  # noqa: PLC0415

        return Staff(self.main)

    @cached_property
    def tokens(self) -> Tokens:
        from ledger.services.tokens import Tokens  # noqa: PLC0415

        return Tokens(self.main)

    @cached_property
    def authenticator(self) -> Authenticator:
        from ledger.services.authentication import Authenticator  # noqa: PLC0415
        from ledger.services.oidc import OidcVerifier  # noqa: PLC0415

        oidc = self.settings.oidc
        # One per opened ledger: its throttle and key cache live as long as the process's.
        return Authenticator(self.main, self.tokens,
                             oidc=OidcVerifier(oidc) if oidc is not None else None)

    @cached_property
    def console_sessions(self) -> ConsoleSessions:
        from ledger.services.console_sessions import ConsoleSessions  # noqa: PLC0415

        return ConsoleSessions(self.main)

    @cached_property
    def clients(self) -> Clients:
        from ledger.services.clients import Clients  # noqa: PLC0415

        return Clients(self.main, self.client_id)

    @cached_property
    def notes(self) -> ProgressNotes:
        from ledger.services.notes import ProgressNotes  # noqa: PLC0415

        return ProgressNotes(self.main, self.client_id, sealed=self._sealed)

    @cached_property
    def psychotherapy(self) -> PsychotherapyNotes:
        from ledger.services.psychotherapy import PsychotherapyNotes  # noqa: PLC0415

        return PsychotherapyNotes(self.pn, self.client_id)

    @cached_property
    def history_import(self) -> HistoryImport:
        """``ledger import``: a practice's history from an earlier system, into both stores
        (the sealed one opened only when the file holds notes)."""
        from ledger.services.importing import HistoryImport  # noqa: PLC0415

        return HistoryImport(self.main, lambda: self.pn, self.client_id)

    @cached_property
    def authorizations(self) -> Authorizations:
        from ledger.services.authorizations import Authorizations  # noqa: PLC0415

        return Authorizations(self.main, self.pn, self.client_id)

    @cached_property
    def records(self) -> RecordSets:
        from ledger.services.record_set import RecordSets  # noqa: PLC0415

        return RecordSets(self.main, self.client_id)

    @cached_property
    def audit(self) -> AuditLog:
        from ledger.services.audit_log import AuditLog  # noqa: PLC0415

        return AuditLog({"main": lambda: self.main, "pn": lambda: self.pn}, self.client_id)

    @cached_property
    def retention(self) -> Retention:
        from ledger.integrity.journal import Journal, JournalWriter  # noqa: PLC0415
        from ledger.services.retention import Retention  # noqa: PLC0415

        path = None if ":memory:" in self.settings.main.url else self.settings.journal
        return Retention(self.main, self.pn, self.client_id,
                         self.settings.kek.backup_retention_days, journal=JournalWriter(
                             Journal(path), lambda: load_signing_key(self.settings.keys)))

    @cached_property
    def keys(self) -> KeyEpochs:
        """KEK versions of both stores: rotation, retirement, status (the key holder's)."""
        from ledger.services.keys import KeyEpochs  # noqa: PLC0415

        return KeyEpochs({"main": lambda: self.main, "pn": lambda: self.pn},
                         self.settings.kek.backup_retention_days)

    @cached_property
    def integrity(self) -> Integrity:
        from ledger.services.integrity import Integrity  # noqa: PLC0415

        return Integrity({"main": lambda: self.main, "pn": lambda: self.pn},
                         self.settings)

    @cached_property
    def proofs(self) -> Proofs:
        from ledger.services.proofs import Proofs  # noqa: PLC0415

        return Proofs({"main": lambda: self.main, "pn": lambda: self.pn}, self.settings,
                      self.client_id)

    @cached_property
    def evidence(self) -> EvidenceService:
        """Verification, checkpoints, proofs and bundles for a named person (the HTTP
        service's; each use decided by the roles table and recorded)."""
        from ledger.services.evidence import EvidenceService  # noqa: PLC0415

        return EvidenceService(self.main, self.integrity, self.proofs, self.client_id)

    @cached_property
    def investigation(self) -> Investigation:
        from ledger.services.investigation import Investigation  # noqa: PLC0415

        return Investigation(self.main, self.pn, self.integrity)

    @cached_property
    def projections(self) -> Projections:
        from ledger.services.projections import Projections  # noqa: PLC0415

        return Projections({"access-main": lambda: self.main.access_projection,
                            "access-pn": lambda: self.pn.access_projection,
                            "record-set": lambda: self.main.record_set_projection,
                            "retention-main": lambda: self.main.retention_projection,
                            "retention-pn": lambda: self.pn.retention_projection,
                            "merkle-main": lambda: self.main.tree,
                            "merkle-pn": lambda: self.pn.tree})

    # ----- closing ---------------------------------------------------------------------------

    def close(self) -> None:
        for store in reversed(list(self._stores.values())):
            store.close()
        self.keks.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def open_ledger(settings: Settings) -> Ledger:
    """Open the ledger described by ``settings`` (keys from their files or environment
    variables). Use it as a context manager, or call ``close()``."""
    return Ledger(settings)


def _refuse_replacing_keys(settings: Settings) -> bool:
    """A new key next to existing data could never open it, a new signing key would
    make every later checkpoint fail, and a new pseudonym secret would orphan every client:
    init refuses, saying which key to restore. True if the stores hold no data yet."""
    from ledger.stores.probe import holds_data, pseudonym_record  # noqa: PLC0415

    fresh = not holds_data(settings.main) and not holds_data(settings.pn)
    if (not fresh and not secret_available(settings)
            and pseudonym_record(settings.main) is not None):
        raise KeyMaterialError(missing_secret(settings) + "; a new secret would orphan every "
                               "client, so none is made")
    providers = Providers(settings)
    try:
        for store in (settings.main, settings.pn):
            if holds_data(store):
                _require_versions(providers, store)
    finally:
        providers.close()
    private, public = key_paths(settings.keys)
    notes = settings.checkpoints
    signed = public.exists() or (notes.is_dir() and any(notes.glob("*/*.note")))
    if not private.exists() and signed:
        raise KeyMaterialError(
            f"the checkpoint signing key {private} is missing but checkpoints were signed "
            f"with it ({public} or notes in {notes}): restore it from your key backup; a new "
            "key would make every later checkpoint fail, so none is made")
    return fresh


def _require_versions(providers: Providers, store: StoreSettings) -> None:
    """Every version of the KEK a store with data still uses must be where it was made."""
    from ledger.stores.probe import kek_versions  # noqa: PLC0415

    recorded = kek_versions(store) or [(1, providers.configured)]
    for version, name in recorded:
        provider = providers.get(store, name)
        if provider.exists(version):
            continue
        where = (f"{store.kek_file} is missing: restore that file (0600) from your key "
                 f"backup, or set {store.kek_env}") if (version, name) == (1, "file") else (
            f"version {version} is not in its {name} provider: restore it from your key "
            "backup")
        raise KeyMaterialError(
            f"the {store.name} store already holds data but its key-encryption key {where}; "
            "a new key could not open the data, so none is made")


def _own_dirs(settings: Settings) -> list[Path]:
    """The directories the ledger keeps its files in: data, keys, heads, checkpoints."""
    dirs = [settings.data_dir, key_paths(settings.keys)[0].parent,
            *(s.kek_file.parent for s in (settings.main, settings.pn) if not os.environ.get(
                s.kek_env)),
            *(s.heads_file.parent for s in (settings.main, settings.pn)),
            settings.checkpoints]
    return list(dict.fromkeys(dirs))


def _tighten_dirs(settings: Settings) -> tuple[tuple[Path, int], ...]:
    """Make each existing directory of the ledger's that others may use 0700; refuse
    (before changing anything) if one of them belongs to another user."""
    open_dirs = [(d, mode) for d in _own_dirs(settings) if d.is_dir()
                 and (mode := private_files.open_to_others(d)) is not None]
    for folder, mode in open_dirs:
        if folder.stat().st_uid != os.geteuid():
            raise BadInput(f"{folder} is open to other users (mode {mode:04o}) and belongs to "
                           "another user, so it cannot be made private: have its owner run "
                           "chmod 700 on it, or use another directory")
    for folder, _ in open_dirs:
        os.chmod(folder, private_files.DIR_MODE)
    return tuple(open_dirs)


def initialise(settings: Settings, at: datetime) -> InitResult:
    """Create the data directory (0700), the key files (never overwritten) and the stores.
    Existing directories of the ledger's that others may use are made 0700 (refused if
    another user owns one)."""
    at = utc(at)
    fresh = _refuse_replacing_keys(settings)
    tightened = _tighten_dirs(settings)
    private_files.make_dir(settings.data_dir)
    created: list[str] = []
    kept: list[str] = []
    from ledger.stores.probe import holds_data  # noqa: PLC0415

    providers = Providers(settings)
    try:
        for store in (settings.main, settings.pn):
            # A store with data keeps the versions it has (checked above); version 1 is made
            # only for a store that holds nothing yet, and never over an existing key.
            made = not holds_data(store) and providers.get(store).create(1)
            (created if made else kept).append(store.name)
    finally:
        providers.close()
    (created if create_signing_key(settings.keys) else kept).append("checkpoint-signing")
    if fresh:  # only a store without data gets a new secret (and records it when opened)
        (created if create_secret(settings) else kept).append("pseudonym")
    elif secret_available(settings):
        kept.append("pseudonym")
    with Ledger(settings, new_store=fresh) as ledger:
        legacy = not ledger.pseudonyms.keyed  # a keyed store's secret is checked here
        for opened in (ledger.main, ledger.pn):
            opened.keyring.epochs.fill_created(at)
            opened.keyring.check_kek(at)
            opened.keyring.ensure_key(AUDIT_SUBJECT, at)
            opened.access_projection.status()  # creates its read tables now
            opened.retention_projection.status()
        ledger.main.record_set_projection.status()
    return InitResult(settings.data_dir, tuple(created), tuple(kept), tightened=tightened,
                      legacy_client_ids=legacy)
