"""The HTTP service in this process for the remote mode's tests: the application that
``create_app`` builds, served by uvicorn in a thread on a 127.0.0.1 socket bound first (no
race for a port), started within a deadline and stopped within one."""

from __future__ import annotations

import socket
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ledger.bootstrap import initialise, open_ledger
from ledger.settings import Settings, load_settings
from tests.conftest import seed

START_S = 30
STOP_S = 30
STAFF = ("admin", "dr-lee", "sup", "bill", "desk", "comp")


def now() -> datetime:
    return datetime.now(UTC)


def practice(tmp_path: Path) -> tuple[Settings, dict[str, str]]:
    """A data directory with one staff member of each role, a client, and a token each."""
    settings = load_settings(str(tmp_path / "data"), environ={})
    initialise(settings, now())
    with open_ledger(settings) as lg:
        seed(lg, now())
        tokens = {who: lg.tokens.issue(who, by="admin", at=now()).token for who in STAFF}
    return settings, tokens


@contextmanager
def serving(settings: Settings) -> Iterator[str]:
    """The service on ``settings``, its base URL while it runs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from api.app import create_app

    with serving_app(create_app(settings), lifespan="on") as url:
        yield url


@contextmanager
def serving_app(app: Any, lifespan: str = "off") -> Iterator[str]:
    """Any ASGI application (a reverse proxy's error page, say), served the same way."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False,
                                           lifespan=lifespan))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + START_S
        while not server.started:
            assert thread.is_alive(), "the server stopped while starting"
            assert time.monotonic() < deadline, "the server did not start in time"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(STOP_S)
        sock.close()
        assert not thread.is_alive(), "the server did not stop in time"
