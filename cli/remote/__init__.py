"""The CLI's remote mode: with a server (``LEDGER_SERVER`` or ``--server``) and a staff
token (``LEDGER_TOKEN`` or ``--token-file``), the staff commands call the ledger's HTTP
service instead of opening the stores, and print what local mode prints.

:class:`cli.remote.ledger.RemoteLedger` stands where :class:`ledger.bootstrap.Ledger`
stands in local mode, with the attributes and method signatures the commands use; each
area (one module each) calls the API with httpx and rebuilds the same records
(``ledger.views`` and the other light record modules) from its JSON answers, and each
problem (RFC 9457) becomes the ledger error local mode would have raised, so the
commands' printing and the CLI's error boundary stay as they are. Front ends talk over
HTTP: nothing here imports ``api``, and nothing here is imported before a command runs in
remote mode (``ledger --help`` stays light).
"""
