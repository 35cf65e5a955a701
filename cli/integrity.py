"""``ledger verify``."""

from __future__ import annotations

import click

from cli.context import State, emit_json, json_option, now, pass_state


@click.command()
@click.option("--head", "known_head", metavar="POSITION:HEX",
              help="Check the main store against this known head instead of the recorded one.")
@click.option("--pn-head", "known_pn_head", metavar="POSITION:HEX",
              help="The same for the sealed psychotherapy-note store.")
@click.option("--no-known-head", is_flag=True,
              help="Ignore the head recorded in the data directory.")
@json_option
@pass_state
def verify(state: State, known_head: str | None, known_pn_head: str | None,
           no_known_head: bool, as_json: bool) -> None:
    """Recompute both stores' hash chains (main and psychotherapy). Exit 0 if both are
    intact, 3 naming the damaged store and its first bad position. Reads only, with no
    key-encryption key: a read-only copy of the data directory verifies.

    Example: ledger verify --json
    """
    from ledger.integrity.heads import parse_head  # noqa: PLC0415 (keeps --help fast)

    overrides = {name: parse_head(text) for name, text in (("main", known_head),
                                                           ("pn", known_pn_head)) if text}
    if state.remote:  # the server verifies, as an audited use by the token's staff member
        reports = state.remote_ledger.verify(known_heads=overrides,
                                             use_known_head=not no_known_head)
    else:
        from ledger.services.integrity import verify_read_only  # noqa: PLC0415

        reports = verify_read_only(state.settings, at=now(), known_heads=overrides,
                                   use_known_head=not no_known_head)
    if as_json:
        emit_json([{
            "store": r.store, "ok": r.ok, "events": r.events,
            "head": {"position": r.head.position, "chain": r.head.chain.hex()} if r.head else None,
            "restored": None if r.restored is None else {
                "position": r.restored.position, "lost": r.restored.lost,
                "at": r.restored.at.isoformat()},
            "damage": None if r.damage is None else {
                "kind": r.damage.kind, "position": r.damage.position,
                "notification_id": r.damage.notification_id, "detail": r.damage.detail},
        } for r in reports])
    else:
        for r in reports:
            if r.damage is None and r.store == "journal":
                notice = f"; {r.notice}" if r.notice else ""
                click.echo(f"journal: intact, {r.events} destroyed clients{notice}")
            elif r.damage is None:
                head = f"head {r.head.position}:{r.head.chain.hex()}" if r.head else "empty"
                restored = f"; {r.restored.describe()}" if r.restored else ""
                click.echo(f"{r.store}: intact, {r.events} events, {head}{restored}")
            else:
                where = "at " if r.damage.position else ""
                click.echo(f"{r.store}: DAMAGED {where}{r.damage.describe()}")
    main = next(r for r in reports if r.store == "main")
    if not state.remote and main.ok and main.events:
        from ledger.keys.pseudonyms import LEGACY_WARNING  # noqa: PLC0415
        from ledger.services.integrity import legacy_client_ids_read_only  # noqa: PLC0415

        if legacy_client_ids_read_only(state.settings):
            click.echo(LEGACY_WARNING, err=True)
    if not all(r.ok for r in reports):
        state.close()
        raise SystemExit(3)
