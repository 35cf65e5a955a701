"""``ledger export bundle`` and ``ledger verify-bundle``: evidence an outsider can check."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from cli.context import State, emit_json, json_option, parse_date, pass_state
from cli.reports import export
from ledger.aggregates.client import Client
from ledger.errors import BadInput
from ledger.integrity.bundle import export as export_store
from ledger.integrity.bundle import verify_bundle
from ledger.integrity.checkpoint import load_public_key, parse_note


@export.command("bundle")
@click.option("--out", "out", required=True, metavar="DIR", type=click.Path(file_okay=False),
              help="A new directory for the bundle.")
@click.option("--store", "which", type=click.Choice(["main", "pn", "all"]), default="all",
              show_default=True, help="Which store's log.")
@click.option("--client", "client_ref", help="Only what concerns this client.")
@click.option("--from", "since", metavar="DATE", help="Access events from this date.")
@click.option("--to", "until", metavar="DATE", help="Access events to this date.")
@pass_state
def bundle(state: State, out: str, which: str, client_ref: str | None, since: str | None,
           until: str | None) -> None:
    """Export events as stored (ciphertext), their leaves and chain values, inclusion proofs
    against the latest signed checkpoint, and the checkpoints before it. --client keeps what
    concerns one client (its access and disclosure events and its own records); --from and
    --to keep the access and disclosure events of a period.

    Example: ledger export bundle --out ./evidence --store pn
    """
    directory = Path(out)
    if directory.exists():
        raise BadInput(f"{out} already exists; give a new directory")
    stores = [s for name, s in (("main", state.app), ("pn", state.pn))
              if which in (name, "all")]
    client_id = Client.id_for(client_ref) if client_ref else None
    start, end = parse_date(since, "--from"), parse_date(until, "--to")
    cut = client_id is not None or start is not None or end is not None
    directory.mkdir(parents=True)
    try:
        counts = [(store, export_store(store, directory, positions=store.evidence_positions(
            client_id=client_id, since=start, until=end) if cut else None))
            for store in stores]
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)  # a bundle is complete or absent
        raise
    for store, count in counts:
        click.echo(f"{store.settings.name}: {count} events -> {directory / store.settings.name}")


@click.command("verify-bundle")
@click.argument("directory", metavar="DIR", type=click.Path(file_okay=False, exists=True))
@click.option("--public-key", "public_key", required=True, metavar="FILE",
              type=click.Path(dir_okay=False, exists=True),
              help="The checkpoint signer's public key (keys/checkpoint.pub).")
@click.option("--checkpoint", "held_files", multiple=True, metavar="FILE",
              type=click.Path(dir_okay=False, exists=True),
              help="A checkpoint you already hold; the bundle must contain it (repeatable).")
@json_option
def verify_bundle_command(directory: str, public_key: str, held_files: tuple[str, ...],
                          as_json: bool) -> None:
    """Check a bundle with no database and no secret key. Exit 0 if every event is in its
    signed tree and every checkpoint extends the one before; 3 naming what fails.

    Example: ledger verify-bundle ./evidence --public-key checkpoint.pub
    """
    key = load_public_key(Path(public_key))
    held = {}
    for f in held_files:
        try:
            note = parse_note(Path(f).read_text(encoding="utf-8"), key)
        except UnicodeDecodeError:
            raise BadInput(f"cannot read the checkpoint {f}") from None
        held[note.origin] = (note.size, note.root)
    reports = verify_bundle(Path(directory), key, held)
    if as_json:
        emit_json([{"store": r.store, "ok": r.ok, "events": r.events,
                    "checkpoints": r.checkpoints, "size": r.size, "selected": r.selected,
                    "latest_checkpoint_time": r.latest_time, "problems": r.problems}
                   for r in reports])
    else:
        for r in reports:
            if r.ok:
                scope = (f"{r.events} selected events" if r.selected
                         else f"all {r.events} events")
                click.echo(f"{r.store}: verified, {scope} in the signed tree of size {r.size} "
                           f"(latest checkpoint {r.latest_time}), {r.checkpoints} consistent "
                           "checkpoints")
            else:
                click.echo(f"{r.store}: FAILED: {'; '.join(r.problems)}")
    if not all(r.ok for r in reports):
        raise SystemExit(3)
