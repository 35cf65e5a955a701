"""The access log page: filters, server-side paging and sorting, and the CSV export.

The filters are the command's (client, staff member, outcome, break-the-glass, store,
period); the client is named in the form's body only. Every showing is recorded by the
service (``list access-log``), and an export as ``export access-log``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Form, Request
from starlette.responses import Response

from api.console.csv_export import access_csv
from api.console.web import HEADERS, Viewer, render
from api.fields import StoreChoice, stores
from ledger.dates import parse_day
from ledger.queries import Query

PER_PAGE = 50
SORTS = {"at": "Time", "actor_id": "Staff", "actor_role": "Role", "action": "Action",
         "outcome": "Outcome", "purpose": "Purpose", "object_type": "Object",
         "break_glass": "Break-the-glass"}


@dataclass(frozen=True)
class AccessForm:
    client: str = ""
    staff: str = ""
    outcome: str = ""
    break_glass: bool = False
    store: StoreChoice = "all"
    since: str = ""
    until: str = ""
    sort: str = "at"
    order: str = "desc"
    page: int = 1
    export: bool = False
    from_log: bool = False

    def query(self, viewer: Viewer) -> Query:
        lg = viewer.ledger
        return Query(client_id=lg.client_id(self.client) if self.client else None,
                     staff_id=self.staff or None,
                     since=parse_day(self.since or None, "the first day"),
                     until=parse_day(self.until or None, "the last day"),
                     outcome=self.outcome or None, break_glass=self.break_glass,
                     sort=self.sort)


def access_form(
        client: Annotated[str, Form(max_length=200)] = "",
        staff: Annotated[str, Form(max_length=200)] = "",
        outcome: Annotated[Literal["", "granted", "denied", "not-found"], Form()] = "",
        break_glass: Annotated[str, Form(max_length=10)] = "",
        store: Annotated[Literal["all", "main", "pn"], Form()] = "all",
        since: Annotated[str, Form(alias="from", max_length=20)] = "",
        until: Annotated[str, Form(alias="to", max_length=20)] = "",
        sort: Annotated[Literal["at", "actor_id", "actor_role", "action", "outcome", "purpose",
                                "object_type", "break_glass"], Form()] = "at",
        order: Annotated[Literal["asc", "desc"], Form()] = "desc",
        page: Annotated[int, Form(ge=1, le=1_000_000)] = 1,
        export: Annotated[str, Form(max_length=10)] = "",
        from_log: Annotated[str, Form(max_length=10)] = "",
) -> AccessForm:
    return AccessForm(client.strip(), staff.strip(), outcome, bool(break_glass), store,
                      since.strip(), until.strip(), sort, order, page, bool(export),
                      bool(from_log))


def show_access_log(request: Request, viewer: Viewer, form: AccessForm) -> Response:
    """One page, sorted and cut by the database (``AuditLog.access_page``); or, with
    ``export``, every filtered row as a CSV file (recorded as an export)."""
    with viewer.acting():
        query = form.query(viewer)
        if form.export:
            rows = viewer.ledger.audit.access_export(by=viewer.by, at=viewer.at, query=query,
                                                     stores=stores(form.store),
                                                     from_log=form.from_log)
            return Response(access_csv(rows), media_type="text/csv; charset=utf-8",
                            headers={**HEADERS, "Content-Disposition":
                                     'attachment; filename="access-log.csv"'})
        page = viewer.ledger.audit.access_page(
            by=viewer.by, at=viewer.at, query=query, page=form.page, per_page=PER_PAGE,
            descending=form.order == "desc", stores=stores(form.store),
            from_log=form.from_log)
    return render(request, "access_log.html", form=form, records=list(page.records),
                  total=page.total, pages=page.pages, sorts=SORTS,
                  disagreeing=page.disagreeing)
