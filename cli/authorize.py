"""``ledger authorize ...``: authorizations (45 CFR 164.508).

Psychotherapy-note authorizations are kept in the sealed store, all others in the main
store; these commands route by scope, and find an authorization by id in either.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from cli.context import State, as_option, emit_json, escaped, json_option, now, pass_state
from ledger.dates import parse_day, parse_uuid, require_day
from ledger.errors import BadInput
from ledger.vocabulary import PSYCHOTHERAPY_NOTES, RECIPIENT_TYPES, SCOPES, parse_scopes

if TYPE_CHECKING:
    from ledger.views import AuthorizationInfo

DEFAULT_DISCLOSER = "this practice"


@click.group()
def authorize() -> None:
    """Authorizations: grant, revoke, record an expiry event, list.

    Example: ledger authorize list --client C-1001 --as comp
    """


@authorize.command("grant")
@click.option("--client", "client_ref", required=True, help="Client id.")
@as_option
@click.option("--scope", "scopes", required=True, multiple=True, metavar="SCOPE",
              help=f"What it covers: {', '.join(SCOPES)}. {PSYCHOTHERAPY_NOTES} may not be "
                   "combined with any other scope (164.508(b)(3)(ii)).")
@click.option("--recipient", required=True, metavar="NAME", help="Who may receive it.")
@click.option("--recipient-type", type=click.Choice(list(RECIPIENT_TYPES)),
              help="What kind of recipient it names (required for psychotherapy notes; "
                   "a release must then go to that kind of recipient).")
@click.option("--purpose", required=True, metavar="TEXT", help="Each purpose, as written.")
@click.option("--expires", metavar="DATE", help="Expiration date (last valid day).")
@click.option("--expiry-event", metavar="TEXT", help="Expiration event, as written.")
@click.option("--signed-by", required=True, metavar="NAME", help="Who signed it.")
@click.option("--signed-on", metavar="DATE", help="Date of signature (default today).")
@click.option("--representative-authority", metavar="TEXT",
              help="If a personal representative signed: their authority.")
@click.option("--description", metavar="TEXT",
              help="Description of the information (default: from the scope).")
@click.option("--discloser", default=DEFAULT_DISCLOSER, show_default=True, metavar="NAME",
              help="Who may make the disclosure.")
@json_option
@pass_state
def grant(state: State, client_ref: str, actor: str, scopes: tuple[str, ...], recipient: str,
          recipient_type: str | None, purpose: str, expires: str | None,
          expiry_event: str | None, signed_by: str, signed_on: str | None,
          representative_authority: str | None, description: str | None, discloser: str,
          as_json: bool) -> None:
    """Record a signed authorization with its 164.508(c) core elements; prints its id.

    Example: ledger authorize grant --client C-1001 --as comp --scope psychotherapy-notes
    --recipient "Dr. Ray Park" --recipient-type provider --purpose "continuity of care"
    --expires 2027-06-30 --signed-by "Jane Roe"
    """
    if (expires is None) == (expiry_event is None):
        raise BadInput("give exactly one of --expires DATE or --expiry-event TEXT")
    parsed = parse_scopes(scopes)
    at = now()
    info = state.ledger.authorizations.grant(
        client_ref, parsed, by=actor, recipient=recipient, purpose=purpose,
        expires=parse_day(expires, "--expires"), expiry_event=expiry_event,
        signed_by=signed_by, signed_on=parse_day(signed_on, "--signed-on") or at.date(),
        representative_authority=representative_authority,
        description=description or f"the client's {' and '.join(parsed)}",
        discloser=discloser, recipient_type=recipient_type, at=at)
    _show(info, as_json)


@authorize.command("revoke")
@click.argument("authorization_id", metavar="AUTH")
@as_option
@click.option("--received", required=True, metavar="DATE",
              help="Date the written revocation was received.")
@json_option
@pass_state
def revoke(state: State, authorization_id: str, actor: str, received: str,
           as_json: bool) -> None:
    """Record a written revocation. Disclosures made before it stay valid (reliance).

    Example: ledger authorize revoke 5e0d... --as comp --received 2026-12-01
    """
    info = state.ledger.authorizations.revoke(
        parse_uuid(authorization_id, "AUTH"), require_day(received, "--received"), by=actor,
        at=now())
    _show(info, as_json)


@authorize.command("expire")
@click.argument("authorization_id", metavar="AUTH")
@as_option
@click.option("--occurred", required=True, metavar="DATE",
              help="Date the authorization's expiration event occurred.")
@json_option
@pass_state
def expire(state: State, authorization_id: str, actor: str, occurred: str,
           as_json: bool) -> None:
    """Record that an authorization's expiration event occurred.

    Example: ledger authorize expire 5e0d... --as comp --occurred 2026-12-01
    """
    info = state.ledger.authorizations.record_expiry_event(
        parse_uuid(authorization_id, "AUTH"), require_day(occurred, "--occurred"), by=actor,
        at=now())
    _show(info, as_json)


@authorize.command("list")
@click.option("--client", "client_ref", required=True, help="Client id.")
@as_option
@click.option("--store", "which", type=click.Choice(["main", "pn", "all"]), default="all",
              show_default=True, help="Which store's authorizations (pn: psychotherapy notes).")
@json_option
@pass_state
def list_(state: State, client_ref: str, actor: str, which: str, as_json: bool) -> None:
    """List a client's authorizations with their status today. Recorded as an access.

    Example: ledger authorize list --client C-1001 --as comp
    """
    found = state.ledger.authorizations.list_authorizations(
        client_ref, by=actor, at=now(),
        stores=tuple(name for name in ("main", "pn") if which in (name, "all")))
    if as_json:
        emit_json(found)
        return
    for a in found:
        click.echo(_line(a))


def _line(a: AuthorizationInfo) -> str:
    a = escaped(a, "recipient", "signed_by", "expiry_event")
    until = (f"expires {a.expires.isoformat()}" if a.expires
             else f"expires on event: {a.expiry_event}")
    return (f"{a.authorization_id}\t{a.status}\t{','.join(a.scopes)}\tto {a.recipient}\t"
            f"signed {a.signed_on.isoformat()} by {a.signed_by}\t{until}"
            + (f"\trevocation received {a.revoked_received.isoformat()}"
               if a.revoked_received else ""))


def _show(info: AuthorizationInfo, as_json: bool) -> None:
    if as_json:
        emit_json(info)
    else:
        click.echo(_line(info))
