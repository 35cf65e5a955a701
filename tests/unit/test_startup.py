"""Start-up stays light: help, the version and the roles table load no database library,
and importing the public API loads nothing until a name is used. (Timing is the
benchmark's job, benchmarks/startup.py; this checks what is imported.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("sqlalchemy", "eventsourcing", "eventsourcing_sqlalchemy", "cryptography",
         "psycopg", "apscheduler", "sqlalchemy_utils")

PROBE = """
import json, sys
argv, code, heavy = json.loads(sys.argv[1]), sys.argv[2], set(json.loads(sys.argv[3]))
if argv is None:
    exec(code)
else:
    from cli.main import main
    sys.argv = ["ledger", *argv]
    try:
        main()
    except SystemExit:
        pass
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & heavy)), file=sys.stderr)
"""


def loaded(argv: list[str] | None, code: str = "") -> list[str]:
    result = subprocess.run([sys.executable, "-c", PROBE, json.dumps(argv), code,
                             json.dumps(HEAVY)], cwd=ROOT, capture_output=True, text=True,
                            check=True)
    return json.loads(result.stderr.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.parametrize("argv", [["--help"], ["note", "show", "--help"], ["--version"],
                                  ["roles"], ["disclose", "--help"], ["access-log", "--help"]])
def test_help_and_the_roles_table_load_no_database_library(argv: list[str]) -> None:
    assert loaded(argv) == []


def test_the_public_api_loads_on_first_use() -> None:
    assert loaded(None, "import ledger, ledger.vocabulary, ledger.dates") == []
    assert "sqlalchemy" in loaded(None, "import ledger; ledger.open_ledger")


def test_the_probe_sees_a_heavy_import() -> None:
    assert loaded(None, "import sqlalchemy") == ["sqlalchemy"]
