"""Structural rules: imports point cli -> jobs -> ledger; one module imports hazmat."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {"ledger": {"jobs", "cli"}, "jobs": {"cli"}, "cli": set()}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def python_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_point_one_way(package: str) -> None:
    offences = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in python_files(package)
        for name in imported_modules(path)
        if name.split(".")[0] in FORBIDDEN[package]
    ]
    assert offences == []


def test_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from cli.main import ledger\nimport jobs.verification\n")
    assert {"cli.main", "jobs.verification"} <= imported_modules(bad)


def test_only_crypto_module_imports_hazmat() -> None:
    importers = {
        str(path.relative_to(ROOT))
        for package in FORBIDDEN
        for path in python_files(package)
        if any(name.startswith("cryptography") for name in imported_modules(path))
    }
    assert importers == {"ledger/crypto.py"}


def test_domain_never_reads_the_clock() -> None:
    """Only cli/ and jobs/ read the clock (invariant 7)."""
    offences = []
    for path in python_files("ledger"):
        source = path.read_text(encoding="utf-8")
        for needle in ("datetime.now(", "datetime.utcnow(", "time.time(", "date.today("):
            if needle in source:
                offences.append(f"{path.relative_to(ROOT)}: {needle}")
    assert offences == []
