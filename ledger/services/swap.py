"""Where ``ledger restore`` prepares the stores, and how it puts them in place.

SQLite: the backup's copies are loaded into ``<data dir>/.restore-<pid>/`` (0700), opened
there as stores (nobody else writes there), and once ready each is copied over its live
database through SQLite's backup API, which replaces the whole database in one transaction
on the live file (a writer elsewhere waits for it) and leaves no page of the old one; the
live WAL is then emptied. PostgreSQL: each store in a staging schema, swapped in by
renaming it (:mod:`ledger.services.pg_copy`). Each store by its own backend.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from types import TracebackType

from ledger.errors import BadInput
from ledger.integrity.manifest import Manifest
from ledger.keys.kek import Providers
from ledger.keys.pseudonyms import PseudonymRecord
from ledger.persistence.readonly import sqlite_path
from ledger.primitives import private_files
from ledger.services import pg_copy
from ledger.settings import Settings, StoreSettings
from ledger.stores.main import MainStore
from ledger.stores.psychotherapy import PsychotherapyStore


class Staging:
    """The staging stores of a restore (a context manager: removed on exit)."""

    def __init__(self, live: Settings, source: Path, manifest: Manifest) -> None:
        self.live = live
        self.source = source
        self.manifest = manifest
        self.folder = live.data_dir / f".restore-{os.getpid()}"
        self.settings = replace(live, main=self._staged(live.main), pn=self._staged(live.pn))

    def _staged(self, store: StoreSettings) -> StoreSettings:
        if _postgres(store):
            return pg_copy.staged(store, self.folder)
        return replace(store, url=f"sqlite:///{self.folder / (store.name + '.sqlite')}",
                       heads_file=self.folder / "heads" / f"{store.name}.json")

    def __enter__(self) -> Staging:
        shutil.rmtree(self.folder, ignore_errors=True)  # a crashed restore's
        private_files.make_dir(self.folder)
        try:
            self._load()
        except BaseException:
            self._remove()
            raise
        return self

    def _load(self) -> None:
        staged = {"main": self.settings.main, "psychotherapy": self.settings.pn}
        for name, store in staged.items():
            copy = self.manifest.stores[name]
            if _postgres(store):
                if copy.backend != "postgresql":
                    raise BadInput(f"the backup's {name} store is a {copy.backend} copy; "
                                   "it restores onto SQLite only")
                pg_copy.drop_schema(store)
            elif copy.backend != "sqlite":
                raise BadInput(f"the backup's {name} store is a {copy.backend} copy; it "
                               "restores onto PostgreSQL only")
            else:
                sqlite_into(self.source / next(iter(copy.files)),
                            self.folder / f"{name}.sqlite")
        if any(_postgres(s) for s in staged.values()):
            _create_tables(self.settings)
            for name, store in staged.items():
                if _postgres(store):
                    pg_copy.load(store, self.source, self.manifest.stores[name].files)

    def swap(self) -> None:
        """Put each staged store over its live one (the sealed store first)."""
        pairs = [(self.live.pn, self.settings.pn), (self.live.main, self.settings.main)]
        pg_copy.swap([(live, stage) for live, stage in pairs if _postgres(live)])
        for live, _ in pairs:
            if not _postgres(live):
                target = sqlite_path(live.url)
                assert target is not None
                private_files.make_dir(target.parent)
                sqlite_into(self.folder / f"{live.name}.sqlite", target)

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._remove()

    def _remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        for store in (self.settings.main, self.settings.pn):
            if _postgres(store):
                pg_copy.drop_schema(store)  # gone already once swapped in


def _postgres(store: StoreSettings) -> bool:
    return store.url.startswith("postgresql")


@contextmanager
def opened(settings: Settings) -> Iterator[tuple[MainStore, PsychotherapyStore]]:
    """Both stores of ``settings`` (the staging ones), their key-encryption keys from the
    installation's providers, as the ledger opens them."""
    providers = Providers(settings)
    try:
        main = MainStore(settings.main, lambda name: providers.get(settings.main, name))
        try:
            pn = PsychotherapyStore(settings.pn, lambda name: providers.get(settings.pn, name),
                                    staff=main.staff_view, client_exists=main.client_exists)
            try:
                yield main, pn
            finally:
                pn.close()
        finally:
            main.close()
    finally:
        providers.close()


def _create_tables(settings: Settings) -> None:
    """Every table of both stores, made by opening them as the ledger does (empty)."""
    with opened(settings) as (main, pn):
        for store in (main, pn):
            _ = store.checkpoints, store.tree
            store.access_projection.status()
            store.retention_projection.status()
        main.record_set_projection.status()
        PseudonymRecord(main.engine, settings.main.schema).table.create(main.engine,
                                                                         checkfirst=True)


def sqlite_into(source: Path, target: Path) -> None:
    """Copy the database ``source`` into ``target`` (made 0600 if new) through SQLite's
    backup API: one transaction on the target, which other connections wait for."""
    if not target.exists():
        os.close(private_files.create(target))
    src = sqlite3.connect(source)
    try:
        dst = sqlite3.connect(target, timeout=30)
        try:
            src.backup(dst)
            dst.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            dst.close()
    finally:
        src.close()


