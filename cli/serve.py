"""``ledger serve``: the HTTP service (``api/``), through uvicorn.

The one module of ``cli`` that imports ``api`` (and uvicorn): it serves it, nothing more.
It runs in the key holder's local mode: the server process opens the stores with the keys,
and every caller of the API is authenticated.
"""

from __future__ import annotations

import copy
import os
from typing import Any

import click

from cli.context import LocalCommand, State, pass_state
from ledger.errors import BadInput

APP_FACTORY = "api.app:app_from_env"


@click.command("serve", cls=LocalCommand, local_reason="the server holds the keys and opens "
                                                       "the stores")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (127.0.0.1: this host only; put a TLS-terminating "
                   "reverse proxy in front, or give --tls-cert/--tls-key).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="TCP port.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Server processes, each with its own connection to the stores.")
@click.option("--tls-cert", metavar="FILE", type=click.Path(dir_okay=False, exists=True),
              help="Serve HTTPS with this certificate chain (PEM); needs --tls-key.")
@click.option("--tls-key", metavar="FILE", type=click.Path(dir_okay=False, exists=True),
              help="The certificate's private key (PEM).")
@pass_state
def serve(state: State, host: str, port: int, workers: int, tls_cert: str | None,
          tls_key: str | None) -> None:
    """Serve the HTTP API (see the README's "HTTP service") until SIGTERM or Ctrl-C.

    Every request is authenticated with a staff token (ledger staff token issue); the
    server's log has one line per request: method, route template, status and duration.

    Example: ledger --data-dir /var/lib/ledger serve --port 8443 --tls-cert c.pem --tls-key k.pem
    """
    if (tls_cert is None) != (tls_key is None):
        raise BadInput("give --tls-cert and --tls-key together")
    # Open the stores and both key-encryption keys now: a missing key or an uninitialised
    # data directory is one line and its exit code, before anything listens.
    opened = state.ledger
    opened.pn  # noqa: B018 (opening the sealed store is the check)
    state.close()

    import uvicorn  # noqa: PLC0415 (loaded only to serve)

    # Each worker builds the app from the environment: the data directory chosen here.
    previous = os.environ.get("LEDGER_DATA_DIR")
    os.environ["LEDGER_DATA_DIR"] = str(state.settings.data_dir)
    try:
        uvicorn.run(APP_FACTORY, factory=True, host=host, port=port, workers=workers,
                    ssl_certfile=tls_cert, ssl_keyfile=tls_key, access_log=False,
                    log_config=log_config(), server_header=False)
    finally:
        if previous is None:
            os.environ.pop("LEDGER_DATA_DIR", None)
        else:
            os.environ["LEDGER_DATA_DIR"] = previous


def log_config() -> dict[str, Any]:
    """Uvicorn's logging, with its access log (raw paths and queries) replaced by the
    service's own line (``api.access``: method, route template, status, duration)."""
    from uvicorn.config import LOGGING_CONFIG  # noqa: PLC0415

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["api"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    config["loggers"].pop("uvicorn.access", None)
    config["handlers"].pop("access", None)
    config["formatters"].pop("access", None)
    return config
