"""Structural rules, read from the source: imports point one way (cli, api -> jobs -> ledger,
cli importing api only to serve it, and inside ledger down the layers), package __init__
files count, there are no import cycles, one module imports each sensitive library, only
the HTTP front end imports the web framework, the domain never reads the clock, and the
designated record set, exports and payer releases cannot reach the sealed store. Each check
is shown failing on a planted violation."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {"ledger": {"jobs", "cli", "api"}, "jobs": {"cli", "api"}, "cli": set(),
             "api": {"cli"}}
# The one module of cli that may import api: the command that serves it.
SERVES_API = "cli/serve.py"

# The layers inside ledger/, lowest first. A module may import its own package and any
# lower layer; never a higher one or another package of its own rank.
LAYERS: list[tuple[int, tuple[str, ...]]] = [
    (0, ("ledger.errors", "ledger.settings", "ledger.views", "ledger.vocabulary",
         "ledger.dates", "ledger.queries", "ledger.limits", "ledger.identifiers",
         "ledger.display", "ledger.agent")),
    (0, ("ledger.primitives",)),
    (1, ("ledger.aggregates",)),
    (1, ("ledger.keys",)),
    (2, ("ledger.rules",)),
    (2, ("ledger.persistence",)),
    (3, ("ledger.projections",)),
    (3, ("ledger.integrity",)),
    (4, ("ledger.stores",)),
    (5, ("ledger.services",)),
    (6, ("ledger.bootstrap", "ledger")),
]


# ----- reading imports -------------------------------------------------------------------------


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return ((isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
            or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def _imports(tree: ast.AST, *, runtime: bool, top_level: bool) -> set[str]:
    """Imported module names. ``runtime``: skip ``if TYPE_CHECKING`` blocks;
    ``top_level``: skip imports inside functions (they run later, not at import time)."""
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if runtime and isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit(other)
                continue
            if top_level and isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if isinstance(child, ast.Import):
                names.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                names.add(child.module)
                names.update(f"{child.module}.{alias.name}" for alias in child.names)
            visit(child)

    visit(tree)
    return names


def imported_modules(path: Path) -> set[str]:
    return _imports(ast.parse(path.read_text(encoding="utf-8")), runtime=False,
                    top_level=False)


def python_files(root: Path, package: str) -> list[Path]:
    return sorted((root / package).rglob("*.py"))


def module_name(root: Path, path: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_path(root: Path, name: str) -> Path | None:
    base = root.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def project_imports(root: Path, name: str, *, runtime: bool, top_level: bool) -> set[str]:
    """The project modules ``name`` imports (``from p import x`` counts p and p.x)."""
    path = module_path(root, name)
    if path is None:
        return set()
    found = _imports(ast.parse(path.read_text(encoding="utf-8")), runtime=runtime,
                     top_level=top_level)
    return {n for n in found if module_path(root, n) is not None}


def with_parents(names: set[str]) -> set[str]:
    """Importing a.b.c runs a/__init__ and a/b/__init__ first: they count too."""
    out = set(names)
    for name in names:
        parts = name.split(".")
        out.update(".".join(parts[:i]) for i in range(1, len(parts)))
    return out


def reachable(root: Path, start: str) -> set[str]:
    """Every project module loaded when ``start`` is imported and used (package __init__
    files included; ``if TYPE_CHECKING`` imports never run, so they do not count)."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        for imported in with_parents(project_imports(root, name, runtime=True,
                                                     top_level=False)) - seen:
            seen.add(imported)
            todo.append(imported)
    return seen


# ----- cli -> jobs -> ledger, libraries, clock ---------------------------------------------------


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_point_one_way(package: str) -> None:
    offences = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in python_files(ROOT, package)
        for name in imported_modules(path)
        if name.split(".")[0] in FORBIDDEN[package]
    ]
    assert offences == []


def test_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from cli.main import ledger\nimport jobs.verification\n"
                   "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import cli.x\n")
    assert {"cli.main", "jobs.verification", "cli.x"} <= imported_modules(bad)


def test_cli_imports_api_only_to_serve_it() -> None:
    importers = {str(path.relative_to(ROOT)) for path in python_files(ROOT, "cli")
                 if any(name.split(".")[0] == "api" for name in imported_modules(path))}
    assert importers <= {SERVES_API}


def test_the_serve_command_names_the_app_it_serves() -> None:
    """``ledger serve`` gives uvicorn the app factory by its import string (so that each
    worker process builds its own): the string must name a function that exists."""
    source = (ROOT / SERVES_API).read_text(encoding="utf-8")
    assert 'APP_FACTORY = "api.app:app_from_env"' in source
    assert "def app_from_env(" in (ROOT / "api" / "app.py").read_text(encoding="utf-8")


@pytest.mark.parametrize(("library", "only_module"), [
    ("cryptography", "ledger/primitives/crypto.py"),
    ("apscheduler", "jobs/scheduler.py"),
    ("uvicorn", SERVES_API),
    ("jwt", "ledger/services/oidc.py"),
    ("pkcs11", "ledger/keys/token.py"),
])
def test_one_module_imports_each_library(library: str, only_module: str) -> None:
    importers = {
        str(path.relative_to(ROOT))
        for package in FORBIDDEN
        for path in python_files(ROOT, package)
        if any(name.startswith(library) for name in imported_modules(path))
    }
    assert importers == {only_module}


@pytest.mark.parametrize("library", ["fastapi", "starlette", "pydantic"])
def test_only_the_http_front_end_imports_the_web_framework(library: str) -> None:
    importers = {
        str(path.relative_to(ROOT))
        for package in FORBIDDEN
        for path in python_files(ROOT, package)
        if any(name.split(".")[0] == library for name in imported_modules(path))
    }
    assert importers and all(name.startswith("api/") for name in importers)


def test_domain_never_reads_the_clock() -> None:
    """Only the front ends (cli/, api/) and jobs/ read the clock (invariant 7)."""
    offences = []
    for path in python_files(ROOT, "ledger"):
        source = path.read_text(encoding="utf-8")
        for needle in ("datetime.now(", "datetime.utcnow(", "time.time(", "date.today("):
            if needle in source:
                offences.append(f"{path.relative_to(ROOT)}: {needle}")
    assert offences == []


# ----- the layers inside ledger/ -----------------------------------------------------------------


def layer_of(name: str) -> tuple[int, str] | None:
    """(rank, layer name) of a module: the layer whose longest prefix it falls under."""
    best: tuple[int, str, int] | None = None
    for rank, prefixes in LAYERS:
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and (
                    best is None or len(prefix) > best[2]):
                best = (rank, prefixes[0], len(prefix))
    return None if best is None else (best[0], best[1])


def layer_offences(root: Path) -> list[str]:
    """Imports (type-only ones included: they are dependencies too) that go up a layer or
    sideways into another package of the same rank."""
    offences = []
    for path in python_files(root, "ledger"):
        name = module_name(root, path)
        here = layer_of(name)
        if here is None:
            offences.append(f"{name} is in no layer")
            continue
        for imported in project_imports(root, name, runtime=False, top_level=False):
            there = layer_of(imported)
            if there is None or there[1] == here[1] or not imported.startswith("ledger"):
                continue
            if there[0] >= here[0]:
                offences.append(f"{name} (layer {here[1]}) imports {imported} "
                                f"(layer {there[1]})")
    return offences


def test_imports_point_down_the_layers() -> None:
    assert layer_offences(ROOT) == []


def test_every_layer_exists() -> None:
    for _, prefixes in LAYERS:
        for prefix in prefixes:
            assert module_path(ROOT, prefix) is not None, f"{prefix} was renamed"


def test_the_layer_check_sees_an_upward_import(tmp_path: Path) -> None:
    for package in ("ledger", "ledger/stores", "ledger/primitives"):
        (tmp_path / package).mkdir(parents=True, exist_ok=True)
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "ledger" / "stores" / "store.py").write_text("")
    (tmp_path / "ledger" / "primitives" / "chain.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from ledger.stores.store import Store\n")
    assert layer_offences(tmp_path) == [
        "ledger.primitives.chain (layer ledger.primitives) imports ledger.stores.store "
        "(layer ledger.stores)"]


def test_nothing_inside_ledger_imports_a_lazy_name_of_the_public_api() -> None:
    """``from ledger import X`` inside the package may name a submodule only: the public
    names are loaded lazily, so importing one would hide an import of the composition
    root from these checks."""
    offences = []
    for path in python_files(ROOT, "ledger"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "ledger":
                offences += [f"{path.relative_to(ROOT)}: {a.name}" for a in node.names
                             if module_path(ROOT, f"ledger.{a.name}") is None]
    assert offences == []


# ----- no import cycles, package __init__ files included ------------------------------------------


def import_cycles(root: Path) -> list[list[str]]:
    """Cycles among the modules' import-time imports, where importing a.b.c also runs the
    __init__ of a and a.b (as Python does)."""
    names = [module_name(root, p) for p in python_files(root, "ledger")]
    graph = {n: with_parents(project_imports(root, n, runtime=True, top_level=True)) - {n}
             for n in names}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for name in sorted(names):
        if name not in state:
            visit(name)
    return cycles


def test_no_import_cycles() -> None:
    assert import_cycles(ROOT) == []


def test_the_cycle_check_sees_a_cycle_through_a_package_init(tmp_path: Path) -> None:
    """The old shape: application imports retention.engine; retention/__init__ re-exports
    the desk; the desk imports application."""
    (tmp_path / "ledger" / "retention").mkdir(parents=True)
    (tmp_path / "ledger" / "__init__.py").write_text("")
    (tmp_path / "ledger" / "application.py").write_text("from ledger.retention import engine\n")
    (tmp_path / "ledger" / "retention" / "__init__.py").write_text(
        "from ledger.retention.desk import Desk\n")
    (tmp_path / "ledger" / "retention" / "engine.py").write_text("")
    (tmp_path / "ledger" / "retention" / "desk.py").write_text(
        "from ledger.application import MainLedger\n")
    assert import_cycles(tmp_path) == [
        ["ledger.application", "ledger.retention", "ledger.retention.desk",
         "ledger.application"]]


# ----- invariant 3: the record set, exports and payer releases cannot reach the sealed store ----

SEALED = {"ledger.stores.psychotherapy", "ledger.aggregates.psychotherapy_note",
          "ledger.services.psychotherapy"}
# Modules that build the designated record set, right-of-access exports or payer releases,
# plus the guard, the stores and the helpers they rely on. New modules named like these
# join the list.
MUST_NOT_REACH_SEALED = ("ledger.stores.main", "ledger.stores.clinical", "ledger.rules.disclosure",
                         "ledger.rules.roles", "ledger.queries", "ledger.views",
                         "ledger.services.audited")
SEALED_OFF_PREFIXES = ("ledger.projections.record_set", "ledger.services.record_set",
                       "ledger.services.notes", "ledger.services.release", "ledger.export",
                       "ledger.payer", "ledger.record_set")


def sealed_off_modules(root: Path) -> list[str]:
    names = [module_name(root, p) for p in python_files(root, "ledger")]
    return sorted({*MUST_NOT_REACH_SEALED,
                   *(n for n in names if n.startswith(SEALED_OFF_PREFIXES))})


@pytest.mark.parametrize("module", sealed_off_modules(ROOT))
def test_record_set_exports_and_payer_releases_cannot_reach_the_sealed_store(
        module: str) -> None:
    assert module_path(ROOT, module) is not None, f"{module} was renamed; update the list"
    assert reachable(ROOT, module) & SEALED == set()


def test_the_sealed_store_does_not_import_the_main_store() -> None:
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


def test_the_import_graph_check_sees_a_package_init_that_reaches_the_sealed_store(
        tmp_path: Path) -> None:
    """Importing ledger.rules.x runs ledger/rules/__init__.py, whatever it imports."""
    (tmp_path / "ledger" / "rules").mkdir(parents=True)
    (tmp_path / "ledger" / "stores").mkdir()
    (tmp_path / "ledger" / "__init__.py").write_text("")
    (tmp_path / "ledger" / "stores" / "__init__.py").write_text("")
    (tmp_path / "ledger" / "stores" / "psychotherapy.py").write_text("")
    (tmp_path / "ledger" / "rules" / "__init__.py").write_text(
        "from ledger.stores import psychotherapy\n")
    (tmp_path / "ledger" / "rules" / "disclosure.py").write_text("")
    (tmp_path / "ledger" / "record_set.py").write_text("from ledger.rules import disclosure\n")
    assert "ledger.stores.psychotherapy" in reachable(tmp_path, "ledger.record_set")
