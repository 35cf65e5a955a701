"""The record set, access requests, the access log and the accounting over the API
(``/v1/record-set``, ``/v1/access-requests``, ``/v1/access-log/search``,
``/v1/accounting``): the methods of :class:`ledger.services.record_set.RecordSets` and
:class:`ledger.services.audit_log.AuditLog` that the commands call. ``by`` and ``at`` are
the server's (see :mod:`cli.remote.notes`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from uuid import UUID

from cli.remote.connection import Connection, store_choice
from cli.remote.decode import build, build_list
from ledger.queries import Query
from ledger.rules.accounting import Accounting
from ledger.views import AccessRecord, AccessRequestExport, RecordSet


class Records:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def record_set(self, client_ref: str, *, by: str | None, purpose: str, at: datetime,
                   as_of: datetime | None = None) -> RecordSet:
        return build(RecordSet, self.connection.call("POST", "/v1/record-set", body={
            "client": client_ref, "purpose": purpose, "as_of": as_of}))

    def export_access_request(self, client_ref: str, *, by: str | None, received: date,
                              at: datetime) -> AccessRequestExport:
        return build(AccessRequestExport, self.connection.call(
            "POST", "/v1/access-requests", body={"client": client_ref, "received": received}))


class Audit:
    def __init__(self, connection: Connection, client_ref: Callable[[UUID], str]) -> None:
        """``client_ref``: the client reference a query's client id stands for (see
        :meth:`cli.remote.ledger.RemoteLedger.client_id`)."""
        self.connection = connection
        self.client_ref = client_ref

    def access_log(self, *, by: str | None, at: datetime, query: Query | None = None,
                   stores: tuple[str, ...] = ("main", "pn"),
                   from_log: bool = False) -> list[AccessRecord]:
        q = query or Query()
        return build_list(AccessRecord, self.connection.call(
            "POST", "/v1/access-log/search", body={
                "client": self.client_ref(q.client_id) if q.client_id else None,
                "staff": q.staff_id, "from": q.since, "to": q.until, "outcome": q.outcome,
                "break_glass": q.break_glass, "store": store_choice(stores), "sort": q.sort,
                "from_log": from_log}))

    def accounting(self, client_ref: str, *, by: str | None, at: datetime,
                   requested_on: date | None = None,
                   stores: tuple[str, ...] = ("main", "pn"),
                   from_log: bool = False) -> Accounting:
        return build(Accounting, self.connection.call(
            "POST", "/v1/accounting", body={"client": client_ref, "at": requested_on,
                                            "from_log": from_log}))
