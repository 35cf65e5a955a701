"""A practice behind the HTTP service: the app built by ``create_app`` on a data directory,
served in process by FastAPI's TestClient, with one staff member of each role, a token
for each, and a client."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ledger.bootstrap import Ledger, initialise
from ledger.queries import Query
from ledger.settings import Settings, load_settings
from tests.conftest import seed

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's notice about httpx2
    from fastapi.testclient import TestClient

from api.app import create_app

STAFF = {"admin": "admin", "clinician": "dr-lee", "supervisor": "sup", "billing": "bill",
         "front-desk": "desk", "compliance": "comp"}


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Practice:
    client: TestClient
    lg: Ledger
    tokens: dict[str, str]  # staff id -> its token

    def auth(self, who: str, **headers: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}", **headers}

    def refusals(self, who: str) -> int:
        """The refusals of ``who`` the access log shows (both stores)."""
        return len(self.lg.audit.access_log(by="admin", at=now(),
                                            query=Query(staff_id=who, outcome="denied")))

    def issue(self, who: str, *, delegate: bool = False) -> str:
        token = self.lg.tokens.issue(who, by="admin", at=now(), delegate=delegate).token
        self.tokens[who] = token
        return token


def open_practice(settings: Settings) -> Iterator[Practice]:
    app = create_app(settings)
    with TestClient(app) as client:
        lg: Ledger = app.state.ledger
        seed(lg, at=now())
        practice = Practice(client, lg, {})
        for who in STAFF.values():
            practice.issue(who)
        yield practice


def sqlite_settings(tmp: Path) -> Settings:
    settings = load_settings(str(tmp / "data"), environ={})
    initialise(settings, now())
    return settings


@pytest.fixture
def practice(tmp_path: Path) -> Iterator[Practice]:
    """On SQLite files."""
    yield from open_practice(sqlite_settings(tmp_path))


@pytest.fixture
def practice_on_each_backend(settings: Settings) -> Iterator[Practice]:
    """On SQLite and on PostgreSQL (its own schema)."""
    yield from open_practice(settings)
