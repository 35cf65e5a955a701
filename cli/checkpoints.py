"""``ledger checkpoint``: signed tree heads of both stores, exported outside the database."""

from __future__ import annotations

import click

from cli.context import (
    State,
    cannot_write,
    emit_json,
    json_option,
    now,
    output_directory,
    pass_state,
)


@click.command()
@click.option("--out", "out", metavar="DIR", type=click.Path(file_okay=False),
              help="Also write a copy of each note here (for example write-once storage).")
@json_option
@pass_state
def checkpoint(state: State, out: str | None, as_json: bool) -> None:
    """Sign each store's tree size and root (Ed25519, C2SP signed note) after verifying
    the chain since the previous signed checkpoint (read from its exported file), the
    root recomputed from the leaves and a consistency proof from the previous note. The
    note goes to the checkpoint directory (LEDGER_CHECKPOINT_DIR), a copy to --out, and
    the store's checkpoint table. Exit 3, nothing signed for that store, if any check fails.

    Example: ledger checkpoint --out /mnt/worm/ledger-checkpoints
    """
    copy = output_directory(out, new=False) if out is not None else None
    try:
        written = state.ledger.integrity.checkpoint(at=now(), out=copy)
    except OSError as e:
        raise cannot_write(out or str(state.settings.checkpoints), e) from None
    if as_json:
        emit_json([{"origin": c.origin, "size": c.size, "root": c.root.hex(),
                    "time": c.time, "file": str(p)} for c, p in written])
        return
    for c, p in written:
        click.echo(f"{c.origin}: size {c.size}, root {c.root.hex()} -> {p}")
