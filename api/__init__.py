"""The HTTP front end (FastAPI): like ``cli/``, it authenticates, parses, calls one service
and renders; it imports ``jobs`` and ``ledger``, never ``cli``. ``ledger serve`` runs it."""
