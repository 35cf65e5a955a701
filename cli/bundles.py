"""``ledger export bundle`` and ``ledger verify-bundle``: evidence an outsider can check."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import click

from cli.context import (
    State,
    cannot_write,
    emit_json,
    json_option,
    output_directory,
    pass_state,
)
from cli.reports import export
from ledger.dates import parse_day


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
    against the latest signed checkpoint, and the checkpoints before it, as exported to the
    checkpoint directory. --client keeps what concerns one client (its access and disclosure
    events and its own records); --from and --to keep the access and disclosure events of a
    period. Every leaf is recomputed and every proof checked against the signed root first
    (exit 3 naming what disagrees); the bundle is complete or absent, also when the export
    is stopped (Ctrl-C, SIGTERM).

    Example: ledger export bundle --out ./evidence --store pn
    """
    directory = output_directory(out, new=True)
    try:
        with _stopped_by_sigterm():
            counts = state.ledger.proofs.export_bundle(
                directory, stores=tuple(name for name in ("main", "pn")
                                        if which in (name, "all")),
                client_ref=client_ref, since=parse_day(since, "--from"),
                until=parse_day(until, "--to"))
    except OSError as e:  # nothing was left behind: the bundle is complete or absent
        raise cannot_write(out, e) from None
    for name, count in counts:
        click.echo(f"{name}: {count} events -> {directory / name}")


@contextmanager
def _stopped_by_sigterm() -> Iterator[None]:
    """SIGTERM raises SystemExit (once; a second one is ignored while cleaning up), so
    the export removes what it staged before the process ends."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@click.command("verify-bundle")
@click.argument("directory", metavar="DIR", type=click.Path(file_okay=False, exists=True))
@click.option("--public-key", "public_key", required=True, metavar="FILE",
              type=click.Path(dir_okay=False, exists=True),
              help="The checkpoint signer's public key (keys/checkpoint.pub).")
@click.option("--checkpoint", "held_files", multiple=True, metavar="FILE",
              type=click.Path(dir_okay=False, exists=True),
              help="A checkpoint you already hold; the bundle must contain it (matched to its "
                   "store by its origin; repeatable).")
@json_option
def verify_bundle_command(directory: str, public_key: str, held_files: tuple[str, ...],
                          as_json: bool) -> None:
    """Check a bundle with no database and no secret key. Exit 0 if every event is in its
    signed tree and every checkpoint extends the one before; 3 naming what fails.

    Example: ledger verify-bundle ./evidence --public-key checkpoint.pub
    """
    from ledger.integrity.bundle import verify_bundle  # noqa: PLC0415 (keeps --help fast)
    from ledger.integrity.checkpoint import parse_note  # noqa: PLC0415
    from ledger.keys.signing import load_public_key  # noqa: PLC0415
    from ledger.limits import read_note  # noqa: PLC0415

    key = load_public_key(Path(public_key))
    held = []
    for f in held_files:
        held.append(parse_note(read_note(Path(f)), key))
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
