"""``ledger roles``: who may do what, as the ledger enforces it."""

from __future__ import annotations

import click

from cli.context import emit_json, json_option


@click.command("roles")
@json_option
def roles(as_json: bool) -> None:
    """Print the access rules in force: every action, which roles may take it (and for
    which purposes), the psychotherapy-note exceptions, and the basis of each rule.

    Example: ledger roles --json
    """
    from ledger.rules import roles as roles_table  # noqa: PLC0415 (keeps --help fast)

    if not as_json:
        click.echo(roles_table.markdown(), nl=False)
        return
    emit_json({
        "rules": [{"action": r.action, "does": r.does, "basis": r.basis,
                   "roles": {role: sorted(p) if p is not None else None
                             for role, p in r.roles.items()},
                   "others": sorted(r.others) if r.others is not None else None}
                  for r in roles_table.TABLE],
        "psychotherapy_exceptions": [
            {"code": h.code, "originator": h.originator, "roles": sorted(h.roles),
             "purposes": sorted(h.purposes),
             "basis": h.basis}
            for h in roles_table.PSYCHOTHERAPY_EXCEPTION_HOLDERS.values()],
    })
