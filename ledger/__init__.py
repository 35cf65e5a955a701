"""ledger: an event-sourced audit and retention ledger for mental-health records."""

from __future__ import annotations

__all__ = ["__version__"]
__version__ = "0.1.0"
