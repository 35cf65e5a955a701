"""``ledger proof ...``: RFC 9162 inclusion and consistency proofs over a store's chain."""

from __future__ import annotations

from pathlib import Path

import click

from cli.context import State, emit_json, json_option, pass_state
from ledger.errors import BadInput

store_option = click.option("--store", "which", type=click.Choice(["main", "pn"]),
                            default="main", show_default=True,
                            help="Which store's log (pn: psychotherapy notes).")


@click.group()
def proof() -> None:
    """Merkle proofs (RFC 9162) over a store's chain leaves, O(log n) hashes each.

    Example: ledger proof inclusion 42
    """


@proof.command("inclusion")
@click.argument("position", type=click.IntRange(min=1))
@store_option
@click.option("--size", type=click.IntRange(min=1), help="Tree size (default: the whole log).")
@click.option("--checkpoint", "checkpoint_file", metavar="FILE",
              type=click.Path(dir_okay=False, exists=True),
              help="Prove against this signed checkpoint (its size and root).")
@click.option("--public-key", "public_key", metavar="FILE", type=click.Path(dir_okay=False),
              help="The checkpoint signer's public key (default <data dir>/keys/checkpoint.pub).")
@json_option
@pass_state
def inclusion(state: State, position: int, which: str, size: int | None,
              checkpoint_file: str | None, public_key: str | None, as_json: bool) -> None:
    """Prove that the event at POSITION is in the tree of the first SIZE events, or in the
    tree a signed checkpoint commits to.

    Example: ledger proof inclusion 42 --store pn --json
    """
    from ledger.keys.signing import key_paths, load_public_key  # noqa: PLC0415

    note = key = None
    if checkpoint_file is not None:
        key = load_public_key(Path(public_key) if public_key
                              else key_paths(state.settings.data_dir)[1])
        try:
            note = Path(checkpoint_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            raise BadInput(f"cannot read the checkpoint {checkpoint_file}") from None
    result = state.ledger.proofs.inclusion(position, store=which, size=size, checkpoint=note,
                                           public_key=key)
    if as_json:
        emit_json(result)
        return
    click.echo(f"{which}: position {position} is in the tree of size {result.size}, root "
               f"{result.root.hex()}")
    click.echo(f"leaf {result.leaf.hex()}")
    for p in result.proof:
        click.echo(f"  {p.hex()}")


@proof.command("consistency")
@click.argument("old", type=click.IntRange(min=1))
@click.argument("new", type=click.IntRange(min=1))
@store_option
@json_option
@pass_state
def consistency(state: State, old: int, new: int, which: str, as_json: bool) -> None:
    """Prove that the tree of the first OLD events is a prefix of the tree of NEW events.

    Example: ledger proof consistency 10 42
    """
    result = state.ledger.proofs.consistency(old, new, store=which)
    if as_json:
        emit_json(result)
        return
    click.echo(f"{which}: size {old} (root {result.old_root.hex()}) is a prefix of size {new} "
               f"(root {result.new_root.hex()})")
    for p in result.proof:
        click.echo(f"  {p.hex()}")
