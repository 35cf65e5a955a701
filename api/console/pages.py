"""The console's home page, access log and accounting letter.

Each page is one recorded use through the same service as the command (the access log and
the accounting record their reading; the home page records its opening). Reads that name a
client are form posts: the reference goes in the body, never in the URL.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from api.console.access_log import AccessForm, access_form, show_access_log
from api.console.web import ConsoleRoute, Viewer, posted, render, signed_in
from ledger.dates import parse_day
from ledger.errors import BadInput
from ledger.rules import roles
from ledger.rules.accounting import Accounting

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)


@router.get("/")
def home(request: Request, viewer: Annotated[Viewer, Depends(signed_in)]) -> Response:
    with viewer.acting():
        viewer.ledger.console_sessions.viewed(viewer.session, "home", at=viewer.at)
    return render(request, "home.html")


@router.get("/access-log")
def access_log(request: Request, viewer: Annotated[Viewer, Depends(signed_in)]) -> Response:
    return show_access_log(request, viewer, AccessForm())


@router.post("/access-log")
def access_log_filtered(request: Request, viewer: Annotated[Viewer, Depends(posted)],
                        form: Annotated[AccessForm, Depends(access_form)]) -> Response:
    return show_access_log(request, viewer, form)


@router.get("/accounting")
def accounting_form(request: Request, viewer: Annotated[Viewer, Depends(signed_in)]
                    ) -> Response:
    with viewer.acting():
        viewer.ledger.console_sessions.viewed(viewer.session, "accounting form", at=viewer.at,
                                              rule=roles.READ_AUDIT, what="accounting")
    return render(request, "accounting.html", letter=None, client="", requested="")


@router.post("/accounting")
def accounting(request: Request, viewer: Annotated[Viewer, Depends(posted)],
               client: Annotated[str, Form(max_length=200)] = "",
               requested: Annotated[str, Form(max_length=20)] = "") -> Response:
    if not client.strip():
        raise BadInput("enter the client's reference")
    with viewer.acting():
        result: Accounting = viewer.ledger.audit.accounting(
            client.strip(), by=viewer.by, at=viewer.at,
            requested_on=parse_day(requested.strip() or None, "the request date"),
            from_log=True)
    return render(request, "accounting.html", letter=result, client=client.strip(),
                  requested=requested)
