"""``ledger init``."""

from __future__ import annotations

import click

from cli.context import LocalCommand, State, now, pass_state
from ledger.errors import BadInput


@click.command(cls=LocalCommand, local_reason="it makes the keys and the stores on "
                                                "this host")
@click.option("--data-dir", "data_dir", metavar="DIR", help="Overrides the group's --data-dir.")
@pass_state
def init(state: State, data_dir: str | None) -> None:
    """Create the data directory (0700), key files (0600) and stores. Idempotent; never
    overwrites a key. An existing directory of the ledger's that others may use is made
    0700 (refused if another user owns it).

    Example: ledger init --data-dir ./ledger-data
    """
    from ledger.bootstrap import initialise  # noqa: PLC0415 (keeps --help fast)
    from ledger.display import escape  # noqa: PLC0415

    if data_dir:
        state.data_dir = data_dir
    try:
        result = initialise(state.settings, now())
    except OSError as e:  # the directory or a key file could not be made
        raise BadInput(f"cannot initialise {escape(str(state.settings.data_dir))}: "
                       f"{e.strerror or type(e).__name__}") from None
    click.echo(f"data directory: {result.data_dir}")
    for folder, mode in result.tightened:
        click.echo(f"made {folder} private (0700): it was {mode:04o}, open to other users")
    for name in result.created_keys:
        click.echo(f"created {_what(name)}")
    for name in result.kept_keys:
        click.echo(f"kept existing {_what(name)}")
    click.echo("stores ready")
    if result.legacy_client_ids:
        from ledger.keys.pseudonyms import LEGACY_WARNING  # noqa: PLC0415

        click.echo(LEGACY_WARNING, err=True)


def _what(name: str) -> str:
    if name == "checkpoint-signing":
        return "checkpoint signing key (keys/checkpoint.key; public key keys/checkpoint.pub)"
    if name == "pseudonym":
        return "pseudonym secret (keys client ids in audit data)"
    return f"key-encryption key for the {name} store"
