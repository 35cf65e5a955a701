"""The ``ledger`` command: parse input, call one service, render output."""
