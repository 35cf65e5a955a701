"""Client pseudonyms: how a practice's client reference becomes the client id that audit
metadata names the client by (and that outlives a purge).

Keyed: HMAC-SHA256 under the installation's pseudonym secret, as a UUIDv8, so nobody
without the secret can recover a client by enumerating candidate references. One secret
per installation, kept with the keys (a 0600 file or a variable), never destroyed: both
stores derive the same id for a client. Stores made before the secret existed keep the
public UUIDv5 (*legacy*): their events are hash-chained and cannot be rewritten.

Which derivation a store uses is recorded in the main store (table ``ledger_pseudonyms``:
the scheme and a check value of the secret, never the secret). A record: keyed, and the
secret must be present and match. No record but data: legacy. Neither: a new store, keyed
from its first event.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from uuid import UUID

from sqlalchemy import Column, Engine, MetaData, String, Table, delete, insert, inspect, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from ledger.errors import KeyMaterialError
from ledger.identifiers import check_client_ref
from ledger.keys.files import create_private, decode, read_private
from ledger.primitives.crypto import new_key
from ledger.primitives.ids import keyed_id, legacy_client_id
from ledger.settings import PSEUDONYM_ENV, Settings

SECRET_BYTES = 32
ClientIds = Callable[[str], UUID]  # what the services are given: client reference -> id
SCHEME = "hmac-sha256-uuid8-v1"
RECORD_PREFIX = "ledger"  # the record lives in the main store


class Pseudonyms:
    """Client references to client ids: keyed under ``secret``, or legacy (``None``)."""

    __slots__ = ("_secret",)

    def __init__(self, secret: bytes | None) -> None:
        if secret is not None and len(secret) != SECRET_BYTES:
            raise KeyMaterialError(f"a pseudonym secret must be {SECRET_BYTES} bytes")
        self._secret = secret

    @property
    def keyed(self) -> bool:
        return self._secret is not None

    def client_id(self, client_ref: str) -> UUID:
        """The id of ``client_ref``, a well-formed client reference (else BadInput)."""
        check_client_ref(client_ref)
        if self._secret is None:
            return legacy_client_id(client_ref)
        return keyed_id(self._secret, "client", client_ref)

    @property
    def check_value(self) -> str:
        """Says which secret keyed a store's ids, without revealing it (an HMAC)."""
        if self._secret is None:
            raise KeyMaterialError("the legacy derivation has no secret")
        return keyed_id(self._secret, "check", SCHEME).hex

    def __repr__(self) -> str:  # never the secret
        return f"Pseudonyms({'keyed' if self.keyed else 'legacy'})"


LEGACY = Pseudonyms(None)
LEGACY_WARNING = ("warning: this ledger's client ids use the legacy derivation (UUIDv5 of the "
                  "client id), which anyone can reverse by trying candidate ids; see the "
                  "README's threat model for how to move to keyed ids")


# ----- the secret -----------------------------------------------------------------------------


def secret_available(settings: Settings) -> bool:
    return bool(os.environ.get(PSEUDONYM_ENV)) or settings.pseudonym_secret.exists()


def load_secret(settings: Settings, *, missing: str) -> bytes:
    """The secret from its variable, else its file (``missing`` says what to do if absent)."""
    from_env = os.environ.get(PSEUDONYM_ENV)
    if from_env:
        return decode(from_env, PSEUDONYM_ENV, SECRET_BYTES)
    return read_private(settings.pseudonym_secret, SECRET_BYTES, missing=missing)


def create_secret(settings: Settings) -> bool:
    """Create the secret file (0600) unless a secret is given; never overwrite. True if
    created."""
    if os.environ.get(PSEUDONYM_ENV):
        return False
    return create_private(settings.pseudonym_secret, new_key())


def missing_secret(settings: Settings) -> str:
    return (f"the main store's client ids are keyed by the pseudonym secret "
            f"{settings.pseudonym_secret}, which is missing: restore that file (0600) from "
            f"your key backup, or set {PSEUDONYM_ENV}")


def _source(settings: Settings) -> str:
    return PSEUDONYM_ENV if os.environ.get(PSEUDONYM_ENV) else str(settings.pseudonym_secret)


# ----- the record of which derivation a store uses ----------------------------------------------


class PseudonymRecord:
    """One row in the main store: the scheme and the secret's check value."""

    def __init__(self, engine: Engine, schema: str | None) -> None:
        self._engine = engine
        self.table = Table(f"{RECORD_PREFIX}_pseudonyms", MetaData(),
                           Column("scheme", String(40), primary_key=True),
                           Column("check_value", String(32), nullable=False), schema=schema)

    def _exists(self) -> bool:
        with self._engine.connect() as conn:
            return inspect(conn).has_table(self.table.name, schema=self.table.schema)

    def read(self) -> str | None:
        """The recorded check value; None if the store has no record (nothing is created)."""
        if not self._exists():
            return None
        c = self.table.c
        with self._engine.connect() as conn:
            row = conn.execute(select(c.scheme, c.check_value)).first()
        if row is None:
            return None
        if row.scheme != SCHEME:
            raise KeyMaterialError(f"the main store's client ids use the scheme {row.scheme!r}, "
                                   "which this version does not know")
        return str(row.check_value)

    def write(self, check_value: str) -> None:
        """Record (or replace, for a store that holds no data yet) the keyed scheme."""
        try:
            self.table.create(self._engine, checkfirst=True)
        except DBAPIError:  # another process created it at the same moment
            if not self._exists():
                raise
        try:
            with self._engine.begin() as conn:
                conn.execute(delete(self.table))
                conn.execute(insert(self.table), [{"scheme": SCHEME,
                                                   "check_value": check_value}])
        except IntegrityError:  # another process recorded it at the same moment
            if self.read() != check_value:
                raise KeyMaterialError("another process recorded a different pseudonym "
                                       "secret for the main store") from None


def open_pseudonyms(settings: Settings, record: PseudonymRecord,
                    holds_data: Callable[[], bool], *, new: bool = False) -> Pseudonyms:
    """The derivation the stores use, from the record, the data and the secret. ``new``:
    the stores hold no data, so the secret given now is recorded (init)."""
    recorded = None if new else record.read()
    if recorded is not None:
        pseudonyms = Pseudonyms(load_secret(settings, missing=missing_secret(settings)))
        if pseudonyms.check_value != recorded:
            raise KeyMaterialError(
                f"the pseudonym secret {_source(settings)} is not the one the main store's "
                "client ids were made with: restore the right one from your key backup")
        return pseudonyms
    if not new and holds_data():
        if secret_available(settings):
            raise KeyMaterialError(
                f"the pseudonym secret {_source(settings)} is given, but the main store "
                "holds data and no record that its client ids are keyed: they were made with "
                "the legacy derivation (remove the secret to keep it), or the record was "
                "removed (restore the store from your backup)")
        return LEGACY
    pseudonyms = Pseudonyms(load_secret(
        settings, missing=f"no pseudonym secret at {settings.pseudonym_secret}; run "
                          f"'ledger init' (or set {PSEUDONYM_ENV})"))
    record.write(pseudonyms.check_value)
    return pseudonyms
