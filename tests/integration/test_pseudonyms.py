"""Client pseudonyms cannot be reversed (issue 12, defect 5): the ids that audit metadata
names clients by are keyed by the installation's pseudonym secret, so enumerating candidate
client references with the public UUIDv5 scheme recovers nothing. Both stores agree on a
client's id, and it is stable across a reopen. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from uuid import NAMESPACE_URL, UUID, uuid5

import pytest
import sqlalchemy as sa

from ledger.aggregates.audit import AuditEntry
from ledger.aggregates.client import Client
from ledger.aggregates.disclosure import Disclosure
from ledger.bootstrap import Ledger, initialise, open_ledger
from ledger.errors import KeyMaterialError, NotInitialised
from ledger.settings import Settings
from ledger.stores.clinical import ClinicalStore
from tests.conftest import AT, all_events, seed

REFS = ("C-1", "C-1001", "Z-1", "2026-00042")


def public_uuid5(ref: str) -> UUID:
    """The scheme anyone can read in the source: UUIDv5 of "client:<ref>"."""
    return uuid5(uuid5(NAMESPACE_URL, "urn:ledger:v1"), f"client:{ref}")


def candidates() -> list[str]:
    """What an attacker would try: every reference of a few common shapes (the real ones
    among them)."""
    shapes = [f"C-{i}" for i in range(20_000)] + [f"Z-{i}" for i in range(2_000)]
    return [*shapes, *REFS]


def practice(lg: Ledger) -> None:
    """Clients named in both stores' events and read models: registered, written about,
    read, released and refused."""
    seed(lg)
    for ref in REFS[1:]:
        lg.clients.register(ref, "Some One", date(1980, 1, 1), "CA", by="desk", at=AT)
    for ref in REFS:
        note = lg.notes.write(ref, "text", by="dr-lee", session_date=None, at=AT)
        lg.notes.disclose(ref, [note], by="bill", recipient="Acme Health Plan",
                          recipient_type="payer", purpose="HPAYMT", at=AT)
        lg.psychotherapy.write(ref, "process", by="dr-lee", session_date=None, at=AT)
    lg.audit.accounting("C-1001", by="comp", at=AT)


def client_ids_in(store: ClinicalStore) -> set[UUID]:
    """Every client id in a store's events (audit entries, disclosures, registrations), in
    its read models and in its data keys' subjects."""
    found: set[UUID] = set()
    for event in all_events(store):
        if isinstance(event, AuditEntry.Recorded | Disclosure.Recorded) and event.client_id:
            found.add(event.client_id)
        if isinstance(event, Client.Registered):
            found.add(event.originator_id)
    store.access_projection.catch_up()
    tables = [store.access_projection.table]
    record_set = getattr(store, "record_set_projection", None)  # the main store's only
    if record_set is not None:
        record_set.catch_up()
        tables.append(record_set.table)
    keys = store.keyring.table
    with store.engine.connect() as conn:
        for table in tables:
            found |= {UUID(v) for v in conn.execute(sa.select(table.c.client_id)).scalars()
                      if v}
        # The data keys' subjects (their rows outlive a purge).
        found |= {UUID(s.removeprefix("subject:")) for s in conn.execute(
            sa.select(keys.c.subject)).scalars() if s.startswith("subject:")}
    return found


def test_enumerating_candidate_references_recovers_no_client(lg: Ledger) -> None:
    practice(lg)
    named = client_ids_in(lg.main) | client_ids_in(lg.pn)
    assert len(named) == len(REFS)  # the audit data does name every client
    table = {public_uuid5(ref): ref for ref in candidates()}
    assert {table[i] for i in named if i in table} == set()


def test_both_stores_agree_on_a_client_id(lg: Ledger) -> None:
    seed(lg)
    client_id = lg.client_id("C-1")
    assert lg.main.client(client_id, "C-1").id == client_id
    pn_note = lg.psychotherapy.write("C-1", "process", by="dr-lee", session_date=None, at=AT)
    assert lg.pn.note(pn_note).client_id == client_id
    pn_entries = [e for e in all_events(lg.pn) if isinstance(e, AuditEntry.Recorded)]
    assert {e.client_id for e in pn_entries} == {client_id}
    assert lg.pn.client_exists(client_id)


def test_a_client_id_is_keyed_and_stable_across_a_reopen(settings: Settings, lg: Ledger) -> None:
    seed(lg)
    client_id = lg.client_id("C-1")
    assert client_id.version == 8 and client_id != public_uuid5("C-1")
    assert lg.pseudonyms.keyed and not lg.legacy_client_ids
    lg.close()
    with open_ledger(settings) as reopened:
        assert reopened.client_id("C-1") == client_id
        assert reopened.main.client_exists(client_id)
        assert [n.note_id for n in reopened.notes.list_notes("C-1", by="dr-lee", at=AT)] == []


def test_init_never_makes_a_new_secret_beside_keyed_data(settings: Settings) -> None:
    with open_ledger(settings) as lg:
        seed(lg)
    secret = settings.pseudonym_secret
    secret.unlink()
    with pytest.raises(KeyMaterialError, match=r"^the main store's client ids are keyed by the "
                       r"pseudonym secret .*pseudonym\.key, which is missing: restore that file "
                       r".*; a new secret would orphan every client, so none is made$"):
        initialise(settings, AT)
    assert not secret.exists()
    with open_ledger(settings) as lg, pytest.raises(NotInitialised, match=r"pseudonym\.key, "
                                                                          r"which is missing"):
        lg.clients.register("C-2", "N", date(1990, 1, 1), "CA", by="desk", at=AT)


def test_a_removed_record_is_not_taken_for_a_legacy_store(settings: Settings) -> None:
    """Deleting the record beside keyed data must not switch the ledger to the public
    derivation: with the secret present it refuses."""
    with open_ledger(settings) as lg:
        seed(lg)
        with lg.main.engine.begin() as conn:
            conn.execute(sa.text(f"DELETE FROM {_qualified(settings, 'ledger_pseudonyms')}"))
    with open_ledger(settings) as lg, pytest.raises(
            KeyMaterialError, match=r"^the pseudonym secret .*pseudonym\.key is given, but the "
                                    r"main store holds data and no record"):
        lg.client_id("C-1")


def _qualified(settings: Settings, table: str) -> str:
    schema = settings.main.schema
    return f'"{schema}"."{table}"' if schema else table
