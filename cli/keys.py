"""``ledger keys``: the key-encryption key versions (epochs) of each store: rotate, retire,
status. The key holder's commands (local mode only)."""

from __future__ import annotations

from datetime import datetime

import click

from cli.context import LocalGroup, State, emit_json, json_option, now, pass_state

store_option = click.option(
    "--store", type=click.Choice(["main", "pn", "all"]), default="all", show_default=True,
    help="Which store's key: main, pn (psychotherapy notes) or all.")


def _stores(store: str) -> list[str]:
    return ["main", "pn"] if store == "all" else [store]


@click.group("keys", cls=LocalGroup, local_reason="the key-encryption keys are the key "
             "holder's, on the host of the stores")
def keys() -> None:
    """Key-encryption key versions: rotate, retire, status."""


@keys.command()
@store_option
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=1000,
              show_default=True, help="Data keys re-wrapped per committed transaction.")
@json_option
@pass_state
def rotate(state: State, store: str, batch_size: int, as_json: bool) -> None:
    """Make a new key-encryption key version current and re-wrap every live data key under
    it, in committed batches; run again after a crash to finish (nothing is done twice).
    Reads work throughout. The old version stays until 'ledger keys retire'.

    Example: ledger keys rotate --store main
    """
    results = []
    for name in _stores(store):
        results.append(state.ledger.keys.rotate(name, at=now(), batch=batch_size))
    if as_json:
        emit_json([{"store": r.store, "version": r.version, "resumed": r.resumed,
                    "rewrapped": r.rewrapped, "live_keys": r.live_keys} for r in results])
        return
    for r in results:
        how = "finished the rotation" if r.resumed else "rotated"
        click.echo(f"{r.store}: {how} to version {r.version}: {r.rewrapped} key(s) re-wrapped "
                   f"now, {r.live_keys} live key(s) under version {r.version}")


@keys.command()
@click.argument("version", type=click.IntRange(1, 1_000_000))
@click.option("--store", type=click.Choice(["main", "pn"]), required=True,
              help="Which store's key: main or pn (psychotherapy notes).")
@pass_state
def retire(state: State, version: int, store: str) -> None:
    """Destroy an old key-encryption key version once no live data key is wrapped under it
    (refused otherwise, with the count; the current version is never retired). Every backup
    taken under that version can no longer be opened: see README "Key-encryption keys".

    Example: ledger keys retire 1 --store main
    """
    done = state.ledger.keys.retire(store, version, at=now())
    word = "retired" if done else "was already retired"
    click.echo(f"{store}: version {version} {word}; its key is destroyed")


@keys.command()
@store_option
@json_option
@pass_state
def status(state: State, store: str, as_json: bool) -> None:
    """Each store's key-encryption key versions: provider, when made, rotated (every live
    key re-wrapped under it) and retired, and how many live data keys each wraps.

    Example: ledger keys status --json
    """
    rows = [e for name in _stores(store) for e in state.ledger.keys.status(name)]
    if as_json:
        emit_json([{"store": e.store, "version": e.version, "provider": e.provider,
                    "current": e.current, "created_at": e.created_at,
                    "rotated_at": e.rotated_at, "retired_at": e.retired_at,
                    "live_keys": e.live_keys} for e in rows])
        return
    click.echo("store\tversion\tprovider\tcreated\trotated\tretired\tlive keys")
    for e in rows:
        click.echo("\t".join([e.store, f"{e.version}{' (current)' if e.current else ''}",
                              e.provider, _day(e.created_at), _day(e.rotated_at),
                              _day(e.retired_at), str(e.live_keys)]))


def _day(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value is not None else "-"
