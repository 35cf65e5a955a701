"""ledger: an event-sourced audit and retention ledger for mental-health records.

The public Python API. Open the ledger from settings and call its services::

    import ledger

    settings = ledger.load_settings("./ledger-data")
    ledger.initialise(settings, at=now)
    with ledger.open_ledger(settings) as lg:
        note_id = lg.notes.write("C-1001", text, by="dr-lee", session_date=None, at=now)
        content = lg.notes.read(note_id, by="dr-lee", purpose="TREAT", at=now)

Every service takes the acting staff member (``by``) and the time (``at``, timezone-aware);
every read is recorded before content is returned; a refusal raises :class:`Refused` (and
is recorded too). Names are loaded on first use, so importing ``ledger`` (or a light module
such as ``ledger.vocabulary``) does not load the database stack.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "open_ledger": "ledger.bootstrap",
    "initialise": "ledger.bootstrap",
    "Ledger": "ledger.bootstrap",
    "InitResult": "ledger.bootstrap",
    "Settings": "ledger.settings",
    "load_settings": "ledger.settings",
    "Query": "ledger.queries",
    "verify_bundle": "ledger.integrity.bundle",
    "load_public_key": "ledger.keys.signing",
    "LedgerError": "ledger.errors",
    "BadInput": "ledger.errors",
    "NotFound": "ledger.errors",
    "NotInitialised": "ledger.errors",
    "KeyMaterialError": "ledger.errors",
    "ContentDestroyed": "ledger.errors",
    "IntegrityFailure": "ledger.errors",
    "Refused": "ledger.errors",
    "Busy": "ledger.errors",
    "ReadOnly": "ledger.errors",
    "verify_read_only": "ledger.services.integrity",
}
__all__ = [  # the names above, and the version
    "BadInput", "Busy", "ContentDestroyed", "InitResult", "IntegrityFailure",
    "KeyMaterialError", "Ledger", "LedgerError", "NotFound", "NotInitialised", "Query",
    "ReadOnly", "Refused", "Settings", "__version__", "initialise", "load_public_key",
    "load_settings", "open_ledger", "verify_bundle", "verify_read_only",
]

if TYPE_CHECKING:
    from ledger.bootstrap import InitResult, Ledger, initialise, open_ledger
    from ledger.errors import (
        BadInput,
        Busy,
        ContentDestroyed,
        IntegrityFailure,
        KeyMaterialError,
        LedgerError,
        NotFound,
        NotInitialised,
        ReadOnly,
        Refused,
    )
    from ledger.integrity.bundle import verify_bundle
    from ledger.keys.signing import load_public_key
    from ledger.queries import Query
    from ledger.services.integrity import verify_read_only
    from ledger.settings import Settings, load_settings


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ledger' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
