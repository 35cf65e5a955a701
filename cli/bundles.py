"""``ledger export bundle`` and ``ledger verify-bundle``: evidence an outsider can check."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from cli.context import State, emit_json, json_option, parse_date, pass_state
from cli.reports import export
from ledger.aggregates.client import Client
from ledger.bundle import export as export_store
from ledger.bundle import verify_bundle
from ledger.checkpoint import load_public_key
from ledger.errors import BadInput


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
@json_option
def verify_bundle_command(directory: str, public_key: str, as_json: bool) -> None:
    """Check a bundle with no database and no secret key. Exit 0 if every event is in its
    signed tree and every checkpoint extends the one before; 3 naming what fails.

    Example: ledger verify-bundle ./evidence --public-key checkpoint.pub
    """
    reports = verify_bundle(Path(directory), load_public_key(Path(public_key)))
    if as_json:
        emit_json([{"store": r.store, "ok": r.ok, "events": r.events,
                    "checkpoints": r.checkpoints, "size": r.size, "problems": r.problems}
                   for r in reports])
    else:
        for r in reports:
            if r.ok:
                click.echo(f"{r.store}: verified, {r.events} events in the signed tree of size "
                           f"{r.size}, {r.checkpoints} consistent checkpoints")
            else:
                click.echo(f"{r.store}: FAILED: {'; '.join(r.problems)}")
    if not all(r.ok for r in reports):
        raise SystemExit(3)
