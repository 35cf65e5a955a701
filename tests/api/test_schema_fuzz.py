"""Schemathesis against the OpenAPI document, in process, with an admin's token: whatever
it generates (valid and invalid requests), no answer is a 5xx and every answer conforms to
the document (its status declared, its content type, headers and body as declared).
Bounded in examples per operation and in time (the whole run is well under two minutes on
two cores)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from api.app import create_app
from ledger.bootstrap import initialise, open_ledger
from ledger.settings import load_settings
from tests.conftest import seed

EXAMPLES = 8  # per operation
# The document needs no data: the app is built on a directory that is never opened.
schema = schemathesis.openapi.from_dict(
    create_app(load_settings("/nonexistent", environ={})).openapi())

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, str]:
    """The app on an initialised practice, and an admin's token."""
    settings_ = load_settings(str(Path(tmp_path_factory.mktemp("fuzz")) / "data"), environ={})
    at = datetime.now(UTC)
    initialise(settings_, at)
    with open_ledger(settings_) as lg:
        seed(lg, at)
        note = lg.notes.write("C-1", "Session.", by="dr-lee", session_date=None, at=at)
        lg.notes.read(note, by="dr-lee", purpose="TREAT", at=at)
        lg.evidence.checkpoint(by="admin", at=at)
        token = lg.tokens.issue("admin", by="admin", at=at).token
    # Schemathesis starts the app's lifespan itself (one ledger for the run).
    return create_app(settings_), token


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_no_server_error_and_every_response_as_documented(case: Any,
                                                          served: tuple[Any, str]) -> None:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    app, token = served
    case.call_and_validate(
        app=app, base_url="http://testserver", headers={"Authorization": f"Bearer {token}"},
        checks=[not_a_server_error, status_code_conformance, content_type_conformance,
                response_headers_conformance, response_schema_conformance])
