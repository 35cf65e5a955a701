"""One connection to the HTTP service for the length of a command: every request carries
the token, is bounded in time, and checks the server's certificate.

A request's values go in its JSON body (client references, names, text) or, for opaque
ids and codes only, in its path and query, as the API is designed: nothing the CLI sends
puts PHI in a URL. An error answer becomes the ledger error local mode would raise
(:mod:`cli.remote.problems`); no answer becomes one line saying why.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import IO, TYPE_CHECKING, Any
from uuid import UUID

from cli.remote.problems import ServerFailed, Unreachable, error_for
from cli.remote.settings import CA_FILE_ENV, CONNECT_S, TIMEOUT_ENV, Remote
from ledger.display import escape
from ledger.errors import BadInput

if TYPE_CHECKING:
    import httpx


class Connection:
    def __init__(self, remote: Remote, client: httpx.Client | None = None) -> None:
        """``client``: an httpx client to use instead of a new one (tests give one that
        reaches an application in process)."""
        self.remote = remote
        self._client = client

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            import httpx  # noqa: PLC0415 (loaded only in remote mode)

            import ledger  # noqa: PLC0415

            self._client = httpx.Client(
                base_url=self.remote.server, verify=self._verify(),
                timeout=httpx.Timeout(self.remote.timeout, connect=CONNECT_S),
                follow_redirects=False, trust_env=False,
                headers={"User-Agent": f"ledger-cli/{ledger.__version__}"})
        return self._client

    def _verify(self) -> Any:
        if self.remote.ca_file is None:
            return True  # the system's certificate authorities
        import ssl  # noqa: PLC0415

        try:
            return ssl.create_default_context(cafile=str(self.remote.ca_file))
        except (OSError, ssl.SSLError) as e:
            raise BadInput(f"cannot read {CA_FILE_ENV} {escape(str(self.remote.ca_file))}: "
                           f"{getattr(e, 'strerror', None) or 'not PEM certificates'}"
                           ) from None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # ----- requests ----------------------------------------------------------------------------

    def request(self, method: str, path: str, *, body: Mapping[str, Any] | None = None,
                params: Mapping[str, Any] | None = None) -> httpx.Response:
        """The answer to one request, whatever its status; one line if none came."""
        import httpx  # noqa: PLC0415

        try:
            return self.client.request(method, path, **self._arguments(body, params))
        except httpx.TimeoutException as e:
            raise self._no_answer(e) from None
        except httpx.TransportError as e:
            raise Unreachable(f"cannot reach the server at {self.remote.server}: "
                              f"{_reason(e)}") from None

    def call(self, method: str, path: str, *, body: Mapping[str, Any] | None = None,
             params: Mapping[str, Any] | None = None) -> Any:
        """The JSON of a successful answer; the ledger error of any other."""
        response = self.request(method, path, body=body, params=params)
        if not response.is_success:
            raise error_for(response)
        return json_of(response)

    def download(self, path: str, body: Mapping[str, Any], into: IO[bytes]) -> None:
        """Stream a successful answer's bytes into ``into``."""
        import httpx  # noqa: PLC0415

        try:
            with self.client.stream("POST", path, **self._arguments(body, None)) as response:
                if not response.is_success:
                    response.read()
                    raise error_for(response)
                for chunk in response.iter_bytes():
                    into.write(chunk)
        except httpx.TimeoutException as e:
            raise self._no_answer(e) from None
        except httpx.TransportError as e:
            raise Unreachable(f"cannot reach the server at {self.remote.server}: "
                              f"{_reason(e)}") from None

    def _arguments(self, body: Mapping[str, Any] | None,
                   params: Mapping[str, Any] | None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.remote.token}",
                   "Accept": "application/json, application/problem+json"}
        arguments: dict[str, Any] = {"headers": headers}
        if body is not None:
            headers["Content-Type"] = "application/json"
            arguments["content"] = json.dumps(_present(body), default=_json).encode("utf-8")
        if params is not None:
            arguments["params"] = {k: _param(v) for k, v in _present(params).items()}
        return arguments

    def _no_answer(self, error: Exception) -> Unreachable:
        import httpx  # noqa: PLC0415

        if isinstance(error, httpx.ConnectTimeout | httpx.PoolTimeout):
            return Unreachable(f"cannot reach the server at {self.remote.server}: no "
                               f"connection within {CONNECT_S:.0f} s")
        return Unreachable(f"the server at {self.remote.server} did not answer within "
                           f"{self.remote.timeout:g} s ({TIMEOUT_ENV}); what was asked may "
                           "have been done: check before running it again")


def json_of(response: httpx.Response) -> Any:
    """The JSON of an answer; one line if it is not JSON."""
    try:
        return response.json()
    except ValueError:
        raise ServerFailed(f"the server's answer to {response.request.method} "
                           f"{_template(response.request.url.path)} is not JSON") from None


def store_choice(stores: tuple[str, ...]) -> str:
    """The API's one word for the stores a command asks for (its --store)."""
    return stores[0] if len(stores) == 1 else "all"


def _present(values: Mapping[str, Any]) -> dict[str, Any]:
    """The values given: an option left out is left out of the request too (the server's
    default applies, as the service's does in local mode)."""
    return {k: v for k, v in values.items() if v is not None}


def _json(value: Any) -> Any:
    if isinstance(value, date):  # datetimes too
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, tuple | frozenset):
        return list(value)
    raise TypeError(type(value).__name__)


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(_json(value)) if isinstance(value, date | UUID) else str(value)


def _template(path: str) -> str:
    """A path as an error may show it: its first two segments (never an id)."""
    return "/".join(path.split("/")[:3])


def _reason(error: Exception) -> str:
    """Why no connection was made, in a few words: the innermost cause's message (a
    refused connection, an unknown name, a certificate that does not verify)."""
    import ssl  # noqa: PLC0415

    cause: BaseException = error
    while cause.__cause__ is not None or cause.__context__ is not None:
        cause = cause.__cause__ or cause.__context__  # type: ignore[assignment]
    if isinstance(cause, ssl.SSLCertVerificationError):
        return (f"TLS: {escape(cause.verify_message or 'the certificate does not verify')} "
                f"(a private certificate authority goes in {CA_FILE_ENV})")
    if isinstance(cause, ssl.SSLError):
        return f"TLS: {escape(cause.reason or str(cause))}"
    if isinstance(cause, OSError) and cause.strerror:
        return escape(cause.strerror)
    text = str(error) or type(error).__name__
    return escape(text)
