"""Remote mode's settings: the server's address, the token and how the connection is
checked, read once from the group's options and the environment.

The token never comes from the command line: an argument shows in ``ps`` and in shell
history, so it is read from ``LEDGER_TOKEN`` or from a file (``--token-file`` or
``LEDGER_TOKEN_FILE``) that only its owner may read. Plain ``http://`` is accepted only for
this host (a token sent in clear over a network could be read on the way); anything else
must be ``https://``, checked against the system's certificate authorities or the one in
``LEDGER_CA_FILE``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ledger.display import escape, shown
from ledger.errors import BadInput

SERVER_ENV = "LEDGER_SERVER"
TOKEN_ENV = "LEDGER_TOKEN"  # noqa: S105 (the variable's name, not a token)
TOKEN_FILE_ENV = "LEDGER_TOKEN_FILE"  # noqa: S105
CA_FILE_ENV = "LEDGER_CA_FILE"
TIMEOUT_ENV = "LEDGER_TIMEOUT"

CONNECT_S = 10.0  # to reach the server
DEFAULT_TIMEOUT_S = 120.0  # for its answer (a verification of a large store takes a while)
MAX_TIMEOUT_S = 3600.0
MAX_TOKEN_BYTES = 16 * 1024  # a staff token is 48 characters; an OpenID Connect JWT more
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
_TOKEN = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no space: one bearer credential


@dataclass(frozen=True)
class Remote:
    server: str  # the service's base URL, without a trailing slash
    token: str = ""
    ca_file: Path | None = None  # a private certificate authority's certificates (PEM)
    timeout: float = DEFAULT_TIMEOUT_S  # seconds to wait for an answer

    def __repr__(self) -> str:  # never the token, in a traceback or a debugger
        return f"Remote(server={self.server!r})"


def remote_settings(server: str, token_file: str | None,
                    environ: Mapping[str, str] | None = None) -> Remote:
    """The settings for ``server``, the token from ``token_file`` or ``LEDGER_TOKEN``."""
    env = os.environ if environ is None else environ
    token = env.get(TOKEN_ENV) or None
    if token is not None and token_file is not None:
        raise BadInput(f"give the token once: {TOKEN_ENV} or --token-file "
                       f"({TOKEN_FILE_ENV}), not both")
    if token is None and token_file is None:
        raise BadInput(f"remote mode ({SERVER_ENV}) needs your staff token: set {TOKEN_ENV} "
                       "or give --token-file FILE")
    if token_file is not None:
        token = read_token_file(Path(token_file))
    assert token is not None
    if not _TOKEN.fullmatch(token.strip()):  # never repeated: it is a credential
        raise BadInput("the token is not a bearer token (printable ASCII without spaces)")
    ca = env.get(CA_FILE_ENV) or None
    return Remote(server=check_server(server), token=token.strip(),
                  ca_file=Path(ca) if ca else None, timeout=_timeout(env.get(TIMEOUT_ENV)))


def check_server(server: str) -> str:
    """The server's base URL: ``https://host[:port][/prefix]``, or ``http://`` for this
    host only; no user, query or fragment."""
    what = f"the server address {shown(server)}"
    try:
        parts = urlsplit(server.strip())
        host = parts.hostname
        parts.port  # noqa: B018 (raises ValueError for a port that is not one)
    except ValueError:
        raise BadInput(f"{what} is not a URL") from None
    if parts.scheme not in ("http", "https") or not host:
        raise BadInput(f"{what} must be a URL such as https://ledger.example.org")
    if parts.username is not None or parts.password is not None:
        raise BadInput(f"{what} must not carry a user or password: the token is the "
                       "credential")
    if parts.query or parts.fragment:
        raise BadInput(f"{what} must not have a query or a fragment")
    if parts.scheme == "http" and host not in LOOPBACK:
        raise BadInput(f"{what} must be https: plain http is only for this host "
                       "(127.0.0.1, ::1, localhost), where no network carries the token")
    return server.strip().rstrip("/")


def read_token_file(path: Path) -> str:
    """The token in ``path``: a file its owner alone may read or write (as ssh asks of
    keys), at most 16 KB of ASCII, surrounding blanks and the final newline ignored."""
    from ledger.limits import read_file  # noqa: PLC0415

    name = f"the token file {escape(str(path))}"
    try:
        mode = path.stat().st_mode
    except OSError as e:
        raise BadInput(f"cannot read {name}: {e.strerror or type(e).__name__}") from None
    if os.name == "posix" and mode & 0o077:
        raise BadInput(f"{name} may be read or written by other users: make it its "
                       f"owner's alone (chmod 600 {escape(str(path))})")
    data = read_file(path, MAX_TOKEN_BYTES, name)
    try:
        return data.decode("ascii").strip()
    except UnicodeDecodeError:
        raise BadInput(f"{name} does not hold a token (ASCII text)") from None


def _timeout(value: str | None) -> float:
    if value is None or not value.strip():
        return DEFAULT_TIMEOUT_S
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= MAX_TIMEOUT_S:
        raise BadInput(f"{TIMEOUT_ENV} {shown(value)} must be a number of seconds, more "
                       f"than 0 and at most {MAX_TIMEOUT_S:.0f}")
    return seconds
