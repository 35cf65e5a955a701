"""The sealed psychotherapy-note store: separation, who may do what, every read recorded."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
import sqlalchemy as sa

from ledger.aggregates.authorization import PSYCHOTHERAPY_NOTES
from ledger.bootstrap import Ledger, open_ledger
from ledger.errors import KeyMaterialError
from ledger.settings import Settings
from tests.conftest import AT, seed


def test_each_store_has_its_own_tables_and_database(settings: Settings, lg: Ledger) -> None:
    main, pn = lg.main, lg.pn
    assert table_names(main.engine, settings.main.schema) >= {
        "ledger_events", "ledger_chain", "ledger_keys"}
    assert table_names(pn.engine, settings.pn.schema) >= {
        "psychotherapy_events", "psychotherapy_chain", "psychotherapy_keys"}
    assert not {t for t in table_names(main.engine, settings.main.schema)
                if t.startswith("psychotherapy")}
    assert (settings.main.url, settings.main.schema) != (settings.pn.url, settings.pn.schema)


def test_the_sealed_store_has_its_own_key_encryption_key(settings: Settings) -> None:
    assert settings.main.kek_file.read_bytes() != settings.pn.kek_file.read_bytes()
    swapped = replace(settings, pn=replace(settings.pn, kek_file=settings.main.kek_file))
    with open_ledger(swapped) as opened, pytest.raises(
            KeyMaterialError, match="the key-encryption key does not match this store"):
        opened.pn.keyring.check_kek(AT)


def test_verify_names_the_damaged_store(settings: Settings, lg: Ledger) -> None:
    main, pn = lg.main, lg.pn
    seed(lg)
    note_id = lg.psychotherapy.write("C-1", "text", by="dr-lee", session_date=None, at=AT)
    lg.psychotherapy.read(note_id, by="dr-lee", purpose="TREAT", at=AT)
    table = pn.event_log.events
    with pn.engine.begin() as conn:
        conn.execute(sa.update(table).where(table.c.id == 2).values(topic="x:Y"))
    assert main.verify(use_known_head=False).ok
    report = pn.verify(use_known_head=False)
    assert not report.ok
    assert report.store == "psychotherapy"
    assert report.damage is not None and report.damage.position == 2


def test_one_shredded_client_does_not_break_listings_for_the_others(
        settings: Settings, lg: Ledger) -> None:
    pn = lg.pn
    seed(lg)
    lg.clients.register("C-2", "John Doe", date(1980, 2, 2), "NY", by="desk", at=AT)
    for client in ("C-1", "C-2"):
        lg.psychotherapy.write(client, "text", by="dr-lee", session_date=None, at=AT)
        lg.authorizations.grant(client, (PSYCHOTHERAPY_NOTES,), by="comp", recipient="R",
                                recipient_type="provider", purpose="p",
                                expires=date(2027, 1, 1), expiry_event=None, signed_by="S",
                                signed_on=AT.date(), representative_authority=None,
                                description="d", discloser="this practice", at=AT)
    keys = sa.Table("psychotherapy_keys", sa.MetaData(), autoload_with=pn.engine,
                    schema=settings.pn.schema)
    with pn.engine.begin() as conn:  # what the retention purge will do: destroy the key
        conn.execute(sa.update(keys).where(keys.c.subject == f"subject:{lg.client_id('C-1')}")
                     .values(wrapped=None))
    with open_ledger(settings) as fresh:
        assert len(fresh.psychotherapy.list_notes("C-2", by="sup", at=AT)) == 1
        assert len(fresh.authorizations.list_authorizations("C-2", by="comp", at=AT,
                                                            stores=("pn",))) == 1
        assert fresh.psychotherapy.list_notes("C-1", by="sup", at=AT) == []


def table_names(engine: sa.Engine, schema: str | None) -> set[str]:
    return set(sa.inspect(engine).get_table_names(schema=schema))


def test_write_read_on_durable_backends(lg: Ledger) -> None:
    seed(lg)
    note_id = lg.notes.write("C-1", "durable text", by="dr-lee", session_date=None, at=AT)
    assert lg.notes.read(note_id, by="dr-lee", purpose="TREAT", version=1, at=AT).text == (
        "durable text")
