"""``ledger proof ...``: RFC 9162 inclusion and consistency proofs over a store's chain."""

from __future__ import annotations

from pathlib import Path

import click

from cli.context import State, emit_json, json_option, pass_state
from ledger.errors import BadInput, IntegrityFailure
from ledger.integrity.checkpoint import key_paths, load_public_key, parse_note
from ledger.integrity.tree import StoredTree
from ledger.primitives import merkle
from ledger.stores.store import Store

store_option = click.option("--store", "which", type=click.Choice(["main", "pn"]),
                            default="main", show_default=True,
                            help="Which store's log (pn: psychotherapy notes).")


@click.group()
def proof() -> None:
    """Merkle proofs (RFC 9162) over a store's chain leaves, O(log n) hashes each.

    Example: ledger proof inclusion 42
    """


def _tree(state: State, which: str) -> StoredTree:
    store: Store = state.app if which == "main" else state.pn
    tree = StoredTree(store)
    tree.catch_up()
    return tree


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
    tree = _tree(state, which)
    signed = None
    if checkpoint_file is not None:
        key = Path(public_key) if public_key else key_paths(state.settings.data_dir)[1]
        try:
            text = Path(checkpoint_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            raise BadInput(f"cannot read the checkpoint {checkpoint_file}") from None
        signed = parse_note(text, load_public_key(key))
        if size is not None and size != signed.size:
            raise BadInput("--size and --checkpoint disagree; give one")
        size = signed.size
        if signed.size <= tree.size() and tree.root(signed.size) != signed.root:
            raise IntegrityFailure(f"the {which} store's tree of size {signed.size} does not "
                                   "have the checkpoint's root: the log was rewritten")
    size = tree.size() if size is None else size
    if size < 1 or position > size or size > tree.size():
        raise BadInput(f"position {position} and size {size} must lie within the "
                       f"{tree.size()} events of the {which} store")
    path = tree.inclusion(position, size)
    leaf, root = tree.leaf(position), tree.root(size)
    ok = merkle.verify_inclusion(leaf, position - 1, size, path, root)
    if not ok:
        raise IntegrityFailure(f"the inclusion proof for position {position} does not verify")
    result = {"store": which, "position": position, "size": size, "leaf": leaf.hex(),
              "root": root.hex(), "proof": [p.hex() for p in path], "verified": ok,
              "checkpoint": signed.origin if signed else None}
    if as_json:
        emit_json(result)
        return
    click.echo(f"{which}: position {position} is in the tree of size {size}, root {root.hex()}")
    click.echo(f"leaf {leaf.hex()}")
    for p in path:
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
    tree = _tree(state, which)
    if not old <= new <= tree.size():
        raise BadInput(f"sizes must satisfy OLD <= NEW <= {tree.size()} (the {which} store)")
    path = tree.consistency(old, new)
    old_root, new_root = tree.root(old), tree.root(new)
    ok = merkle.verify_consistency(old, new, old_root, new_root, path)
    if not ok:
        raise IntegrityFailure(f"the consistency proof from {old} to {new} does not verify")
    result = {"store": which, "old": old, "new": new, "old_root": old_root.hex(),
              "new_root": new_root.hex(), "proof": [p.hex() for p in path], "verified": ok}
    if as_json:
        emit_json(result)
        return
    click.echo(f"{which}: size {old} (root {old_root.hex()}) is a prefix of size {new} "
               f"(root {new_root.hex()})")
    for p in path:
        click.echo(f"  {p.hex()}")
