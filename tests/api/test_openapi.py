"""The OpenAPI document tells the truth and puts no PHI in a URL: no path or query
parameter can carry a client reference, a name or free text; every operation declares the
statuses it can answer, each error as problem+json; every operation needs the bearer
token."""

from __future__ import annotations

from typing import Any

import pytest

from api.app import create_app
from api.problems import COMMON
from ledger.identifiers import CODE, STAFF_ID
from ledger.settings import load_settings
from tests.api.conftest import TestClient

# Query parameters that are neither a number, a flag, a closed set, a UUID nor a code, and
# why each carries no PHI.
NAMED_QUERY = {
    "staff": "a staff id (workforce, not a client)",
    "at": "a date or moment",
    "head": "a chain head, POSITION:HEX",
    "pn_head": "a chain head, POSITION:HEX",
}
PHI_NAMES = {"client", "clients", "name", "dob", "text", "reason", "recipient", "to",
             "matter", "assertion", "description", "note", "label", "address"}


def document(tmp_path: Any) -> dict[str, Any]:
    app = create_app(load_settings(str(tmp_path / "d"), environ={}))
    return app.openapi()


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, item in doc["paths"].items()
            for method, op in item.items()]


def unwrap(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema of a parameter that may be absent (``anyOf: [X, null]``)."""
    options = [s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"]
    assert len(options) == 1, schema
    return options[0]


def carries_no_phi(where: str, name: str, schema: dict[str, Any]) -> bool:
    s = unwrap(schema)
    if name.lower() in PHI_NAMES:
        return False
    if s.get("format") == "uuid" or "enum" in s or s.get("type") in ("integer", "boolean"):
        return True
    if where == "path":
        return name == "staff_id" and s.get("pattern") == f"^{STAFF_ID.pattern}$"
    if s.get("pattern") == f"^{CODE.pattern}$":
        return True  # a purpose or exception code
    return name in NAMED_QUERY and ("pattern" in s or s.get("maxLength", 1000) <= 40)


def test_no_path_or_query_parameter_can_carry_phi(tmp_path: Any) -> None:
    doc = document(tmp_path)
    offences = [f"{method} {path}: {p['in']} {p['name']}"
                for method, path, op in operations(doc)
                for p in op.get("parameters", []) if p["in"] in ("path", "query")
                and not carries_no_phi(p["in"], p["name"], p["schema"])]
    assert offences == []
    assert len(operations(doc)) >= 40


@pytest.mark.parametrize(("where", "name", "schema"), [
    ("query", "client", {"type": "string", "pattern": f"^{STAFF_ID.pattern}$"}),
    ("query", "q", {"type": "string"}),
    ("path", "ref", {"type": "string", "pattern": f"^{STAFF_ID.pattern}$"}),
    ("query", "reason", {"anyOf": [{"type": "string"}, {"type": "null"}]}),
])
def test_the_check_sees_a_client_or_text_in_a_url(where: str, name: str,
                                                  schema: dict[str, Any]) -> None:
    assert not carries_no_phi(where, name, schema)


def test_no_path_names_a_client(tmp_path: Any) -> None:
    assert [path for path in document(tmp_path)["paths"] if "client" in path.split("{")[-1]
            and "{" in path] == []


def test_every_operation_declares_its_errors_as_problem_json(tmp_path: Any) -> None:
    doc = document(tmp_path)
    problem = {"$ref": "#/components/schemas/Problem"}
    for method, path, op in operations(doc):
        statuses = {int(s) for s in op["responses"]}
        assert set(COMMON) <= statuses, (method, path)
        assert any(s < 300 for s in statuses), (method, path)
        for status, response in op["responses"].items():
            if int(status) >= 400:
                assert response["content"] == {
                    "application/problem+json": {"schema": problem}}, (method, path, status)
        assert op["security"] == [{"staffToken": []}], (method, path)
    assert doc["components"]["securitySchemes"]["staffToken"]["scheme"] == "bearer"


def test_the_document_is_served(tmp_path: Any) -> None:
    from ledger.bootstrap import initialise
    from tests.api.conftest import now

    settings = load_settings(str(tmp_path / "s"), environ={})
    initialise(settings, now())
    with TestClient(create_app(settings)) as client:
        served = client.get("/openapi.json")
    assert served.status_code == 200
    assert served.json()["info"]["title"] == "ledger"


def test_every_operation_is_in_the_readme(tmp_path: Any) -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    missing = [f"{method} {path}" for method, path, _ in operations(document(tmp_path))
               if f"`{method} {path}`" not in readme]
    assert missing == []
