"""``ledger backup`` and ``ledger restore``."""

from __future__ import annotations

import click

from cli.context import (
    LocalCommand,
    State,
    cannot_write,
    emit_json,
    json_option,
    now,
    output_directory,
    pass_state,
)
from ledger.errors import BadInput


@click.command(cls=LocalCommand, local_reason="it copies the stores on this host")
@click.option("--out", "out", metavar="DIR", required=True,
              type=click.Path(file_okay=False),
              help="A new (or empty) directory for the backup; never holds a key.")
@json_option
@pass_state
def backup(state: State, out: str, as_json: bool) -> None:
    """Copy both stores while writers go on (one snapshot each), with their heads, signed
    checkpoints and the destruction journal, verify the copy and sign its manifest. Keys
    are not included: back them up separately.

    Example: ledger backup --out /mnt/backups/ledger-2026-11-30
    """
    from ledger.services.backup import take_backup  # noqa: PLC0415 (keeps --help fast)

    target = output_directory(out, new=False)
    try:
        manifest = take_backup(state.settings, target, at=now())
    except OSError as e:
        raise cannot_write(out, e) from None
    stores = [{"store": s.name, "events": s.events,
               "head": f"{s.head.position}:{s.head.chain.hex()}" if s.head else None}
              for s in manifest.stores.values()]
    if as_json:
        emit_json({"out": str(target), "taken_at": manifest.taken_at, "stores": stores,
                   "journal_entries": manifest.journal_entries})
        return
    for s in stores:
        click.echo(f"{s['store']}: {s['events']} events, head {s['head'] or 'empty'}")
    click.echo(f"journal: {manifest.journal_entries} destroyed clients")
    click.echo(f"backup verified and signed: {target}")


@click.command(cls=LocalCommand, local_reason="it replaces the stores on this host")
@click.argument("source", metavar="DIR", type=click.Path(file_okay=False))
@click.option("--force", is_flag=True,
              help="Replace stores that hold data (every event after the backup is lost).")
@json_option
@pass_state
def restore(state: State, source: str, force: bool, as_json: bool) -> None:
    """Put a backup back: verify it, destroy again every client destroyed since (the
    destruction journal), record a restored event in each store and start a new signed
    checkpoint epoch, then replace the live stores. Stop other writers first.

    Example: ledger restore /mnt/backups/ledger-2026-11-30 --force
    """
    from pathlib import Path  # noqa: PLC0415

    from ledger.display import escape  # noqa: PLC0415
    from ledger.services.restore import restore as restore_backup  # noqa: PLC0415

    folder = Path(source)
    if not folder.is_dir():
        raise BadInput(f"{escape(source)} is not a backup directory")
    try:
        results = restore_backup(state.settings, folder, at=now(), force=force)
    except OSError as e:
        raise BadInput(f"cannot restore {escape(source)}: "
                       f"{e.strerror or type(e).__name__}") from None
    if as_json:
        emit_json(results)
        return
    for r in results:
        click.echo(f"{r.store}: restored to position {r.restored_to}, {r.lost} later events "
                   f"lost, {r.reapplied} destructions re-applied, now {r.events} events "
                   f"(checkpoint epoch {r.epoch})")
