"""``ledger staff token ...``: the credentials of the HTTP service (issue 13)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from cli.context import State, as_option, emit_json, json_option, now, pass_state
from ledger.dates import parse_moment, parse_uuid

if TYPE_CHECKING:
    from ledger.views import TokenInfo


@click.group("token")
def token() -> None:
    """Staff tokens for the HTTP service: issued and revoked by an admin, recorded.

    A token is shown once, when issued; the ledger keeps only its SHA-256 digest.
    """


@token.command("issue")
@click.argument("staff_id", metavar="STAFF")
@as_option
@click.option("--expires", metavar="DATE|TIME",
              help="When the token stops working (a date means the end of that UTC day).")
@click.option("--delegate", is_flag=True,
              help="A service principal (an EHR) that may act for the end users it names; "
                   "the audit records both.")
@click.option("--label", metavar="TEXT", help="What the token is for (no PHI).")
@json_option
@pass_state
def token_issue(state: State, staff_id: str, actor: str, expires: str | None, delegate: bool,
                label: str | None, as_json: bool) -> None:
    """Issue a token for STAFF and print it once (keep it secret: it is the credential).

    Example: ledger staff token issue dr-lee --as admin --expires 2027-06-30
    """
    at = now()
    issued = state.ledger.tokens.issue(staff_id, by=actor, at=at,
                                       expires_at=parse_moment(expires, "--expires", now=at),
                                       delegate=delegate, label=label)
    if as_json:
        emit_json({"token": issued.token, **_fields(issued.info)})
        return
    click.echo(issued.token)
    click.echo(f"token {issued.info.token_id} for {staff_id}"
               + (f", expires {issued.info.expires_at.isoformat()}"
                  if issued.info.expires_at else ", no expiry")
               + (", may act for end users it names" if delegate else "")
               + ": shown once, store it now", err=True)


@token.command("revoke")
@click.argument("token_id", metavar="TOKEN_ID")
@as_option
@click.option("--reason", metavar="TEXT", help="Why (no PHI).")
@json_option
@pass_state
def token_revoke(state: State, token_id: str, actor: str, reason: str | None,
                 as_json: bool) -> None:
    """Revoke a token by its id (as `token list` shows it); it stops working at once.

    Example: ledger staff token revoke 3f2b... --as admin --reason "laptop lost"
    """
    info = state.ledger.tokens.revoke(parse_uuid(token_id, "TOKEN_ID"), by=actor, at=now(),
                                      reason=reason)
    if as_json:
        emit_json(_fields(info))
    else:
        _show(info)


@token.command("list")
@as_option
@click.option("--staff", "staff_id", metavar="STAFF", help="Only this staff member's tokens.")
@json_option
@pass_state
def token_list(state: State, actor: str, staff_id: str | None, as_json: bool) -> None:
    """List tokens (ids, owners, expiry, state; never the tokens). Recorded.

    Example: ledger staff token list --as admin
    """
    infos = state.ledger.tokens.list_tokens(by=actor, at=now(), staff_id=staff_id)
    if as_json:
        emit_json([_fields(i) for i in infos])
        return
    for info in infos:
        _show(info)


def _fields(info: TokenInfo) -> dict[str, object]:
    from dataclasses import asdict  # noqa: PLC0415

    return asdict(info)


def _show(info: TokenInfo) -> None:
    from ledger.display import escape  # noqa: PLC0415

    expires = info.expires_at.isoformat() if info.expires_at else "never"
    click.echo(f"{info.token_id}\t{info.staff_id}\t{info.state}\tissued "
               f"{info.issued_at.isoformat()}\texpires {expires}"
               + ("\tdelegate" if info.delegate else "")
               + (f"\t{escape(info.label)}" if info.label else ""))
