"""``ledger staff ...`` and ``ledger client ...``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from cli.context import (
    ActorOption,
    State,
    as_option,
    emit_json,
    escaped,
    json_option,
    now,
    pass_state,
    valid_client_ref,
    valid_staff_id,
)
from ledger.dates import require_day
from ledger.vocabulary import ROLES

if TYPE_CHECKING:
    from ledger.views import StaffInfo

role_option = click.option("--role", required=True, type=click.Choice(ROLES),
                           help="Role (decides what the person may read and do).")


def _show(info: StaffInfo, as_json: bool) -> None:
    if as_json:
        emit_json(info)
    else:
        status = "active" if info.active else "deactivated"
        info = escaped(info, "staff_id", "name")
        click.echo(f"{info.staff_id}\t{info.role}\t{status}\t{info.name}")


@click.group()
def staff() -> None:
    """Staff members and their roles (every change is an audited event)."""


@staff.command("add")
@click.option("--id", "staff_id", required=True, callback=valid_staff_id,
              help="Staff id, e.g. dr-lee.")
@click.option("--name", required=True, help="Display name.")
@role_option
@click.option("--as", "actor", cls=ActorOption, required_locally=False, metavar="STAFF",
              help="Admin adding the person; may be omitted only for the very first staff "
                   "member (local mode; refused in remote mode, where your token says who "
                   "you are).")
@json_option
@pass_state
def staff_add(state: State, staff_id: str, name: str, role: str, actor: str | None,
              as_json: bool) -> None:
    """Add a staff member.

    Example: ledger staff add --id dr-lee --name "Dr Lee" --role clinician --as admin
    """
    _show(state.ledger.staff.add(staff_id, name, role, by=actor, at=now()), as_json)


@staff.command("set-role")
@click.argument("staff_id")
@role_option
@as_option
@json_option
@pass_state
def staff_set_role(state: State, staff_id: str, role: str, actor: str, as_json: bool) -> None:
    """Change a staff member's role.

    Example: ledger staff set-role dr-lee --role supervisor --as admin
    """
    _show(state.ledger.staff.set_role(staff_id, role, by=actor, at=now()), as_json)


@staff.command("deactivate")
@click.argument("staff_id")
@as_option
@json_option
@pass_state
def staff_deactivate(state: State, staff_id: str, actor: str, as_json: bool) -> None:
    """Deactivate a staff member (they keep their history, lose all access).

    Example: ledger staff deactivate dr-lee --as admin
    """
    _show(state.ledger.staff.deactivate(staff_id, by=actor, at=now()), as_json)


@staff.command("list")
@json_option
@pass_state
def staff_list(state: State, as_json: bool) -> None:
    """List staff members and their current roles.

    Example: ledger staff list --json
    """
    members = state.ledger.staff.list_staff()
    if as_json:
        emit_json(members)
        return
    for info in members:
        _show(info, False)


@click.group()
def client() -> None:
    """Clients (identity is sealed under the client's own data key)."""


@client.command("add")
@click.option("--id", "client_ref", required=True, callback=valid_client_ref,
              help="The practice's client id, e.g. C-1001.")
@click.option("--name", required=True, help="Client's name (stored encrypted).")
@click.option("--dob", required=True, help="Date of birth, YYYY-MM-DD.")
@click.option("--state", "jurisdiction", required=True, help="Two-letter US state, e.g. CA.")
@as_option
@json_option
@pass_state
def client_add(state: State, client_ref: str, name: str, dob: str, jurisdiction: str,
               actor: str, as_json: bool) -> None:
    """Register a client.

    Example: ledger client add --id C-1001 --name "Jane Roe" --dob 1990-04-01 --state CA --as desk
    """
    state.ledger.clients.register(client_ref, name, require_day(dob, "--dob"), jurisdiction,
                                  by=actor, at=now())
    if as_json:
        emit_json({"client": client_ref})
    else:
        click.echo(client_ref)
