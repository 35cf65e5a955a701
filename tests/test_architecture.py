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


@pytest.mark.parametrize(("library", "only_module"), [
    ("cryptography", "ledger/primitives/crypto.py"),
    ("apscheduler", "jobs/scheduler.py"),
])
def test_one_module_imports_each_library(library: str, only_module: str) -> None:
    importers = {
        str(path.relative_to(ROOT))
        for package in FORBIDDEN
        for path in python_files(package)
        if any(name.startswith(library) for name in imported_modules(path))
    }
    assert importers == {only_module}


def test_domain_never_reads_the_clock() -> None:
    """Only cli/ and jobs/ read the clock (invariant 7)."""
    offences = []
    for path in python_files("ledger"):
        source = path.read_text(encoding="utf-8")
        for needle in ("datetime.now(", "datetime.utcnow(", "time.time(", "date.today("):
            if needle in source:
                offences.append(f"{path.relative_to(ROOT)}: {needle}")
    assert offences == []


# ----- invariant 3: the record set, exports and payer releases cannot reach the sealed store --

SEALED = {"ledger.stores.psychotherapy", "ledger.aggregates.psychotherapy_note"}
# Modules that build the designated record set, right-of-access exports or payer releases,
# plus the guard and the base they rely on. New modules named like these join the list.
MUST_NOT_REACH_SEALED = ("ledger.stores.main", "ledger.stores.clinical", "ledger.rules.disclosure",
                         "ledger.rules.roles", "ledger.queries", "ledger.views")
SEALED_OFF_PREFIXES = ("ledger.projections.record_set", "ledger.export", "ledger.payer",
                       "ledger.record_set")


def module_path(root: Path, name: str) -> Path | None:
    base = root.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def direct_imports(root: Path, name: str) -> set[str]:
    path = module_path(root, name)
    if path is None:
        return set()
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names
                         if module_path(root, f"{node.module}.{alias.name}") is not None)
    return {n for n in found if module_path(root, n) is not None}


def reachable(root: Path, start: str) -> set[str]:
    """Every project module ``start`` imports, directly or through others."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        for imported in direct_imports(root, name) - seen:
            seen.add(imported)
            todo.append(imported)
    return seen


def sealed_off_modules(root: Path) -> list[str]:
    names = [".".join(p.relative_to(root).with_suffix("").parts)
             for p in sorted((root / "ledger").rglob("*.py"))]
    return sorted({*MUST_NOT_REACH_SEALED,
                   *(n for n in names if n.startswith(SEALED_OFF_PREFIXES))})


@pytest.mark.parametrize("module", sealed_off_modules(ROOT))
def test_record_set_exports_and_payer_releases_cannot_reach_the_sealed_store(
        module: str) -> None:
    assert module_path(ROOT, module) is not None, f"{module} was renamed; update the list"
    assert reachable(ROOT, module) & SEALED == set()


def test_the_sealed_store_does_not_import_the_main_ledger() -> None:
    assert "ledger.stores.main" not in reachable(ROOT, "ledger.stores.psychotherapy")


def test_the_import_graph_check_sees_an_indirect_import(tmp_path: Path) -> None:
    (tmp_path / "ledger" / "aggregates").mkdir(parents=True)
    (tmp_path / "ledger" / "__init__.py").write_text("")
    (tmp_path / "ledger" / "aggregates" / "__init__.py").write_text("")
    (tmp_path / "ledger" / "export_access.py").write_text("from ledger import helper\n")
    (tmp_path / "ledger" / "helper.py").write_text("import ledger.aggregates.psychotherapy_note\n")
    (tmp_path / "ledger" / "aggregates" / "psychotherapy_note.py").write_text("")
    assert "ledger.export_access" in sealed_off_modules(tmp_path)
    assert reachable(tmp_path, "ledger.export_access") & SEALED == {
        "ledger.aggregates.psychotherapy_note"}
