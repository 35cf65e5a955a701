"""What ``State.ledger`` is in remote mode: the areas of :class:`ledger.bootstrap.Ledger`
the staff commands use, each calling the HTTP service."""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID, uuid5

from cli.remote.authorizations import Authorizations
from cli.remote.connection import Connection
from cli.remote.evidence import Integrity, Proofs, verify
from cli.remote.investigation import Investigation
from cli.remote.notes import Notes, Psychotherapy
from cli.remote.people import Clients, Staff, Tokens
from cli.remote.records import Audit, Records
from cli.remote.retention import Retention
from ledger.integrity.records import KnownHead, Report

# Stand-in ids: a client id is the server's secret-keyed pseudonym of the reference, which
# this side cannot compute; the access log's query names the client by a stand-in, which
# is turned back into the reference when the query is sent.
_STAND_IN = UUID("5b1d8e0c-3a61-4f0e-9b57-2d7c4c1f0a9e")


class RemoteLedger:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._refs: dict[UUID, str] = {}
        self.notes = Notes(connection)
        self.psychotherapy = Psychotherapy(connection)
        self.staff = Staff(connection)
        self.tokens = Tokens(connection)
        self.clients = Clients(connection)
        self.authorizations = Authorizations(connection)
        self.records = Records(connection)
        self.audit = Audit(connection, self._refs.__getitem__)
        self.retention = Retention(connection)
        self.integrity = Integrity(connection)
        self.proofs = Proofs(connection)
        self.investigation = Investigation(connection)

    def client_id(self, client_ref: str) -> UUID:
        """A stand-in for the client's id, which only the server can compute; the areas
        send the reference it stands for (in a body, never in a URL)."""
        stand_in = uuid5(_STAND_IN, client_ref)
        self._refs[stand_in] = client_ref
        return stand_in

    def verify(self, *, known_heads: Mapping[str, KnownHead] | None = None,
               use_known_head: bool = True) -> list[Report]:
        return verify(self.connection, known_heads=known_heads, use_known_head=use_known_head)

    def close(self) -> None:
        self.connection.close()
