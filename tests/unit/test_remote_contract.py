"""The remote ledger stands where the ledger stands: each of its areas' methods takes the
same parameters, by the same names and kinds, as the service method local mode calls, so
a command runs unchanged in either mode (a parameter added to a service and not to its
remote twin fails here)."""

from __future__ import annotations

import inspect

import pytest

from cli.remote.connection import Connection
from cli.remote.ledger import RemoteLedger
from cli.remote.settings import Remote
from ledger.services.audit_log import AuditLog
from ledger.services.authorizations import Authorizations
from ledger.services.clients import Clients
from ledger.services.integrity import Integrity
from ledger.services.investigation import Investigation
from ledger.services.notes import ProgressNotes
from ledger.services.proofs import Proofs
from ledger.services.psychotherapy import PsychotherapyNotes
from ledger.services.record_set import RecordSets
from ledger.services.retention import Retention
from ledger.services.staff import Staff
from ledger.services.tokens import Tokens

AREAS = {"notes": ProgressNotes, "psychotherapy": PsychotherapyNotes, "staff": Staff,
         "tokens": Tokens, "clients": Clients, "authorizations": Authorizations,
         "records": RecordSets, "audit": AuditLog, "retention": Retention,
         "integrity": Integrity, "proofs": Proofs, "investigation": Investigation}


def remote_ledger() -> RemoteLedger:
    return RemoteLedger(Connection(Remote(server="http://127.0.0.1:9")))  # nothing is sent


def shape(method: object) -> list[tuple[str, object, bool]]:
    return [(p.name, p.kind, p.default is inspect.Parameter.empty)
            for p in inspect.signature(method).parameters.values()]  # type: ignore[arg-type]


def test_every_area_of_the_ledger_has_its_remote_twin() -> None:
    assert set(AREAS) <= set(vars(remote_ledger()))


@pytest.mark.parametrize(("name", "local"), list(AREAS.items()))
def test_each_remote_method_takes_what_the_service_takes(name: str, local: type) -> None:
    remote = type(getattr(remote_ledger(), name))
    methods = [m for m, _ in inspect.getmembers(remote, inspect.isfunction)
               if not m.startswith("_")]
    assert methods
    for method in methods:
        assert shape(getattr(remote, method)) == shape(getattr(local, method)), method
