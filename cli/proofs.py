"""``ledger proof ...``: RFC 9162 inclusion and consistency proofs over a store's chain."""

from __future__ import annotations

from pathlib import Path

import click

from cli.context import State, emit_json, json_option, pass_state

store_option = click.option("--store", "which", type=click.Choice(["main", "pn"]),
                            default="main", show_default=True,
                            help="Which store's log (pn: psychotherapy notes).")
public_key_option = click.option(
    "--public-key", "public_key", metavar="FILE", type=click.Path(dir_okay=False),
    help="The checkpoint signer's public key (default <data dir>/keys/checkpoint.pub).")


@click.group()
def proof() -> None:
    """Merkle proofs (RFC 9162) over a store's chain leaves, O(log n) hashes each, against
    its signed checkpoints.

    Example: ledger proof inclusion 42
    """


@proof.command("inclusion")
@click.argument("position", type=click.IntRange(min=1))
@store_option
@click.option("--size", type=click.IntRange(min=1),
              help="Tree size (default: the size of the signed checkpoint; not more).")
@click.option("--checkpoint", "checkpoint_file", metavar="FILE",
              type=click.Path(dir_okay=False, exists=True),
              help="Prove against this signed checkpoint (default: the store's latest, from "
                   "the checkpoint directory).")
@public_key_option
@json_option
@pass_state
def inclusion(state: State, position: int, which: str, size: int | None,
              checkpoint_file: str | None, public_key: str | None, as_json: bool) -> None:
    """Prove that the event at POSITION is in the tree of the store's latest signed
    checkpoint (or of the checkpoint FILE, or of its first SIZE events). The event's leaf is
    recomputed from the stored event and the proof checked against the signed root before
    it is printed; exit 3 if the database disagrees with the signed checkpoint. Events after
    the latest checkpoint need a new one (ledger checkpoint).

    Example: ledger proof inclusion 42 --store pn --json
    """
    note = None
    if checkpoint_file is not None:
        from ledger.limits import read_note  # noqa: PLC0415

        note = read_note(Path(checkpoint_file))
    result = state.ledger.proofs.inclusion(position, store=which, size=size, checkpoint=note,
                                           public_key=_key(public_key))
    if as_json:
        emit_json(result)
        return
    click.echo(f"{which}: position {position} is in the tree of size {result.size}, root "
               f"{result.root.hex()} (checked against the signed checkpoint "
               f"{result.checkpoint})")
    click.echo(f"leaf {result.leaf.hex()}")
    for p in result.proof:
        click.echo(f"  {p.hex()}")


@proof.command("consistency")
@click.argument("old", type=click.IntRange(min=1))
@click.argument("new", type=click.IntRange(min=1))
@store_option
@public_key_option
@json_option
@pass_state
def consistency(state: State, old: int, new: int, which: str, public_key: str | None,
                as_json: bool) -> None:
    """Prove that the tree of the first OLD events is a prefix of the tree of NEW events,
    both within the store's latest signed checkpoint; checked against its signed root
    before it is printed (exit 3 if the database disagrees with it).

    Example: ledger proof consistency 10 42
    """
    result = state.ledger.proofs.consistency(old, new, store=which,
                                             public_key=_key(public_key))
    if as_json:
        emit_json(result)
        return
    click.echo(f"{which}: size {old} (root {result.old_root.hex()}) is a prefix of size {new} "
               f"(root {result.new_root.hex()})")
    for p in result.proof:
        click.echo(f"  {p.hex()}")


def _key(path: str | None) -> bytes | None:
    if path is None:
        return None  # the service reads <data dir>/keys/checkpoint.pub
    from ledger.keys.signing import load_public_key  # noqa: PLC0415

    return load_public_key(Path(path))
