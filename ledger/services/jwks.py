"""Where the identity provider's signing keys come from (``LEDGER_OIDC_JWKS``): a JWKS file
or an https URL. The set is read when first needed and kept for ``ttl``; a token that names
a key id not in it (the provider rotated its keys) reads it again sooner, but at most once
per ``min_interval``, so tokens with made-up key ids cannot make the service fetch on every
request. A failed read keeps the keys already read. Time is passed in.

This module reads and checks the document's shape only; the keys themselves are made by
:mod:`ledger.services.oidc` (the one module that imports the JOSE library).
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ledger.errors import BadInput
from ledger.limits import read_file

MAX_JWKS_BYTES = 256 * 1024  # a provider's set is a few kilobytes
FETCH_TIMEOUT_SECONDS = 10
TTL = timedelta(minutes=5)
MIN_INTERVAL = timedelta(seconds=60)

# The members of a private or secret key (RFC 7518 section 6): a published set has none.
PRIVATE = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})

KeySet = dict[str, dict[str, Any]]  # key id -> its JWK


class JwksUnavailable(Exception):
    """The key set could not be read or is malformed (why, for the security event)."""


def reader(location: str) -> Callable[[], bytes]:
    """How to read the set at ``location``: an https URL or a file path."""
    if location.startswith("https://"):
        return lambda: _fetch(location)
    return lambda: read_file(Path(location), MAX_JWKS_BYTES, "the JWKS file")


def _fetch(url: str) -> bytes:
    if not url.startswith("https://"):  # the settings allow no other scheme
        raise JwksUnavailable("the JWKS URL must be https")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_SECONDS) as response:  # noqa: S310
        data: bytes = response.read(MAX_JWKS_BYTES + 1)
    if len(data) > MAX_JWKS_BYTES:
        raise JwksUnavailable(f"the JWKS is larger than {MAX_JWKS_BYTES} bytes")
    return data


def parse(data: bytes) -> KeySet:
    """The keys of a JWKS document by key id (keys without one cannot be chosen and are
    left out); :class:`JwksUnavailable` if it is not a JWKS or names a key id twice."""
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise JwksUnavailable("the JWKS is not JSON") from None
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list):
        raise JwksUnavailable("the JWKS has no list of keys")
    found: KeySet = {}
    for key in keys:
        if not isinstance(key, dict) or not isinstance(key.get("kid"), str):
            continue
        if PRIVATE & key.keys() or key.get("kty") == "oct":
            raise JwksUnavailable("the JWKS holds a private or secret key")
        if key["kid"] in found:
            raise JwksUnavailable("the JWKS names a key id twice")
        found[key["kid"]] = key
    return found


class KeySource:
    def __init__(self, read: Callable[[], bytes], *, ttl: timedelta = TTL,
                 min_interval: timedelta = MIN_INTERVAL) -> None:
        self._read, self.ttl, self.min_interval = read, ttl, min_interval
        self._keys: KeySet | None = None
        self._read_at: datetime | None = None  # the last attempt, successful or not
        self._loaded_at: datetime | None = None  # the last successful read
        self._why: str | None = None  # why the last read failed
        self._lock = threading.Lock()

    def key(self, kid: str, at: datetime) -> dict[str, Any] | None:
        """The JWK with key id ``kid`` at ``at`` (None: no such key, even after a reread
        that was due); :class:`JwksUnavailable` if no key set was ever read."""
        with self._lock:
            if self._loaded_at is None or at - self._loaded_at >= self.ttl:
                self._reload(at)
            elif kid not in (self._keys or {}):
                self._reload(at)  # perhaps rotated: read again, if not too soon
            if self._keys is None:
                raise JwksUnavailable(self._why or "the JWKS could not be read")
            return self._keys.get(kid)

    def _reload(self, at: datetime) -> None:
        if self._read_at is not None and at - self._read_at < self.min_interval \
                and at >= self._read_at:
            return  # too soon since the last attempt: keep what we have
        self._read_at = at
        try:
            self._keys = parse(self._read())
        except JwksUnavailable as e:
            self._why = str(e)
            return
        except BadInput as e:  # the file: its one-line message
            self._why = str(e)
            return
        except (OSError, ValueError) as e:  # the URL: the kind of failure only
            self._why = f"the JWKS could not be fetched: {type(e).__name__}"
            return
        self._loaded_at = at
        self._why = None
