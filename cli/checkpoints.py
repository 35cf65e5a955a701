"""``ledger checkpoint``: signed tree heads of both stores, exported outside the database."""

from __future__ import annotations

from pathlib import Path

import click

from cli.context import State, emit_json, json_option, now, pass_state


@click.command()
@click.option("--out", "out", metavar="DIR", type=click.Path(file_okay=False),
              help="Export directory (default <data dir>/checkpoints).")
@json_option
@pass_state
def checkpoint(state: State, out: str | None, as_json: bool) -> None:
    """Sign each store's tree size and root (Ed25519, C2SP signed note), append it to the
    store's checkpoint log and write it to a file. Exit 3 if a log no longer extends its
    previous checkpoint.

    Example: ledger checkpoint --out /mnt/worm/ledger-checkpoints
    """
    written = state.ledger.integrity.checkpoint(at=now(), out=Path(out) if out else None)
    if as_json:
        emit_json([{"origin": c.origin, "size": c.size, "root": c.root.hex(),
                    "time": c.time, "file": str(p)} for c, p in written])
        return
    for c, p in written:
        click.echo(f"{c.origin}: size {c.size}, root {c.root.hex()} -> {p}")
