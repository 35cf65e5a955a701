"""The role x endpoint matrix: every operation called with a token of each role. A role
the access policy refuses gets 403 with a problem body, and the refusal is in the access
log; every other role gets its answer. The roles are the roles table's: an endpoint's
refused roles are computed from its rule (or, where the disclosure guard narrows further,
stated)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ledger.rules import roles
from ledger.rules.roles import Rule
from ledger.vocabulary import ROLES
from tests.api.conftest import STAFF, Practice, now, open_practice, sqlite_settings

Ctx = dict[str, Any]


@dataclass(frozen=True)
class Op:
    name: str
    method: str
    path: Callable[[Ctx, str], str]
    body: Callable[[Ctx, str], dict[str, Any]] | None = None
    rule: Rule | None = None
    purpose: str | None = None
    allowed: frozenset[str] | None = None  # where the guard or ownership narrows the rule
    status: int = 200

    def allowed_roles(self) -> set[str]:
        if self.allowed is not None:
            return set(self.allowed)
        assert self.rule is not None
        return {r for r in ROLES if self.rule.may(r, self.purpose)}


def fixed(path: str) -> Callable[[Ctx, str], str]:
    return lambda ctx, role: path.format_map(ctx)


def body(**values: Any) -> Callable[[Ctx, str], dict[str, Any]]:
    return lambda ctx, role: {k: (v(ctx, role) if callable(v) else v)
                              for k, v in values.items()}


def per_role(prefix: str) -> Callable[[Ctx, str], str]:
    return lambda ctx, role: f"{prefix}-{role}"


OPS = [
    Op("staff add", "POST", fixed("/v1/staff"),
       body(id=per_role("new"), name="New Person", role="billing"), roles.MANAGE_STAFF,
       status=201),
    Op("staff set-role", "PUT", fixed("/v1/staff/spare/role"), body(role="billing"),
       roles.MANAGE_STAFF),
    Op("staff deactivate", "POST", fixed("/v1/staff/spare2/deactivate"), None,
       roles.MANAGE_STAFF),
    Op("token issue", "POST", fixed("/v1/tokens"), body(staff="spare"), roles.MANAGE_STAFF,
       status=201),
    Op("token revoke", "POST", fixed("/v1/tokens/{spare_token}/revoke"), body(),
       roles.MANAGE_STAFF),
    Op("token list", "GET", fixed("/v1/tokens"), None, roles.MANAGE_STAFF),
    Op("client add", "POST", fixed("/v1/clients"),
       body(client=per_role("N"), name="Ann Other", dob="1980-01-01", state="CA"),
       roles.REGISTER_CLIENT, status=201),
    Op("episode open", "POST", fixed("/v1/clients/episodes/open"),
       body(client=per_role("E"), license="lmft", start="2026-01-05"), roles.REGISTER_CLIENT),
    Op("episode close", "POST", fixed("/v1/clients/episodes/close"),
       body(client=per_role("X"), end="2026-02-01", kind="termination"),
       roles.REGISTER_CLIENT),
    Op("contact", "POST", fixed("/v1/clients/contacts"), body(client="C-1", on="2026-02-02"),
       roles.REGISTER_CLIENT),
    Op("note write", "POST", fixed("/v1/notes"), body(client="C-1", text="Session."),
       roles.WRITE_NOTE, status=201),
    Op("note amend", "POST", fixed("/v1/notes/{note}/versions"),
       body(text="Corrected.", reason="typo"), roles.AMEND_NOTE, status=201),
    Op("note show", "GET", fixed("/v1/notes/{note}?purpose=TREAT"), None, roles.READ_NOTE,
       purpose="TREAT"),
    Op("note break-glass", "POST", fixed("/v1/notes/{note}/break-glass"),
       body(purpose="ETREAT", reason="unconscious in the waiting room"), roles.BREAK_GLASS,
       purpose="ETREAT"),
    Op("note list", "POST", fixed("/v1/notes/search"), body(client="C-1"), roles.LIST_NOTES),
    Op("pn write", "POST", fixed("/v1/psychotherapy-notes"),
       body(client="C-1", text="Process."), roles.WRITE_PSYCHOTHERAPY, status=201),
    Op("pn amend", "POST", fixed("/v1/psychotherapy-notes/{pn}/versions"),
       body(text="More.", reason="detail"), roles.AMEND_PSYCHOTHERAPY,
       allowed=frozenset({"clinician"}), status=201),  # the originator only
    Op("pn show", "GET", fixed("/v1/psychotherapy-notes/{pn}?purpose=TREAT"), None,
       roles.USE_PSYCHOTHERAPY, allowed=frozenset({"clinician"})),  # the guard: originator
    Op("pn break-glass", "POST", fixed("/v1/psychotherapy-notes/{pn}/break-glass"),
       body(purpose="ETREAT", reason="emergency"), allowed=frozenset()),  # never opens
    Op("pn list", "POST", fixed("/v1/psychotherapy-notes/search"), body(client="C-1"),
       roles.LIST_PSYCHOTHERAPY),
    Op("authorize grant", "POST", fixed("/v1/authorizations"),
       body(client="C-1", scopes=["progress-notes"], recipient="Law Office",
            purpose="at the request of the individual", expiry_event="end of litigation",
            signed_by="Jane Roe"), roles.AUTHORIZE, status=201),
    Op("authorize revoke", "POST",
       lambda ctx, role: f"/v1/authorizations/{ctx['auth-revoke'][role]}/revoke",
       body(received="2026-03-01"), roles.AUTHORIZE),
    Op("authorize expire", "POST",
       lambda ctx, role: f"/v1/authorizations/{ctx['auth-expire'][role]}/expire",
       body(occurred="2026-03-01"), roles.AUTHORIZE),
    Op("authorize list", "POST", fixed("/v1/authorizations/search"),
       body(client="C-1", store="main"), roles.AUTHORIZE),
    Op("disclose notes", "POST", fixed("/v1/disclosures"),
       body(client="C-1", to="Dr. Ray Park", recipient_type="provider", purpose="TREAT",
            notes=lambda ctx, role: [str(ctx["note"])]), roles.RELEASE,
       allowed=frozenset({"clinician", "supervisor"}), status=201),  # treatment: TREAT readers
    Op("disclose pn", "POST", fixed("/v1/disclosures"),
       body(client="C-1", to="County Coroner", recipient_type="coroner", purpose="PUBHLTH",
            psychotherapy_notes=lambda ctx, role: [str(ctx["pn"])], exception="CORONER_512g1",
            assertion="written request of the medical examiner"),
       roles.USE_PSYCHOTHERAPY, allowed=frozenset({"compliance"}), status=201),
    Op("record set", "POST", fixed("/v1/record-set"), body(client="C-1"), roles.READ_NOTE,
       purpose="HOPERAT"),
    Op("access request", "POST", fixed("/v1/access-requests"), body(client="C-1"),
       roles.HANDLE_ACCESS_REQUEST),
    Op("access log", "POST", fixed("/v1/access-log/search"), body(client="C-1"),
       roles.READ_AUDIT),
    Op("accounting", "POST", fixed("/v1/accounting"), body(client="C-1"), roles.READ_AUDIT),
    Op("retention explain", "POST", fixed("/v1/retention/explain"), body(client="C-1"),
       roles.MANAGE_RETENTION),
    Op("retention plan", "GET", fixed("/v1/retention/plan"), None, roles.MANAGE_RETENTION),
    Op("retention run", "POST", fixed("/v1/retention/run"), body(dry_run=True),
       roles.MANAGE_RETENTION),
    Op("retention precondition", "POST", fixed("/v1/retention/preconditions"),
       body(client="C-1", rule="MA-c123-facility", kind="notify-agency", on="2026-02-01",
            note="DPH letter 41-7"), roles.MANAGE_RETENTION, status=201),
    Op("hold place", "POST", fixed("/v1/holds"), body(client="C-1", reason="subpoena"),
       roles.MANAGE_RETENTION, status=201),
    Op("hold release", "POST", lambda ctx, role: f"/v1/holds/{ctx['holds'][role]}/release",
       body(reason="settled"), roles.MANAGE_RETENTION),
    Op("hold list", "GET", fixed("/v1/holds"), None, roles.MANAGE_RETENTION),
    Op("verify", "GET", fixed("/v1/verify"), None, roles.HANDLE_EVIDENCE),
    Op("checkpoint", "POST", fixed("/v1/checkpoints"), None, roles.HANDLE_EVIDENCE,
       status=201),
    Op("proof inclusion", "GET", fixed("/v1/proofs/inclusion?position=1"), None,
       roles.HANDLE_EVIDENCE),
    Op("proof consistency", "GET", fixed("/v1/proofs/consistency?old=1&new=2"), None,
       roles.HANDLE_EVIDENCE),
    Op("evidence bundle", "POST", fixed("/v1/evidence-bundles"), body(client="C-1"),
       roles.HANDLE_EVIDENCE),
    Op("investigation", "POST", fixed("/v1/investigations/psychotherapy-releases"), body(),
       roles.READ_AUDIT),
]


@pytest.fixture(scope="module")
def ready(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Practice, Ctx]]:
    gen = open_practice(sqlite_settings(Path(tmp_path_factory.mktemp("matrix"))))
    p = next(gen)
    lg, at = p.lg, now()
    for who in ("spare", "spare2"):
        lg.staff.add(who, who, "clinician", by="admin", at=at)
    ctx: Ctx = {"spare_token": lg.tokens.issue("spare", by="admin", at=at).info.token_id}
    for role in ROLES:
        lg.clients.register(f"E-{role}", "E", date(1990, 1, 1), "CA", by="desk", at=at)
        lg.clients.register(f"X-{role}", "X", date(1990, 1, 1), "CA", by="desk", at=at)
        lg.clients.open_episode(f"X-{role}", license="lmft", facility=None,
                                start=date(2026, 1, 5), by="desk", at=at)
    ctx["note"] = lg.notes.write("C-1", "Session one.", by="dr-lee", session_date=None, at=at)
    ctx["pn"] = lg.psychotherapy.write("C-1", "Process.", by="dr-lee", session_date=None,
                                       at=at)
    for kind in ("auth-revoke", "auth-expire"):
        ctx[kind] = {role: lg.authorizations.grant(
            "C-1", ("progress-notes",), by="comp", recipient="Law Office", purpose="suit",
            expires=None, expiry_event="end of litigation", signed_by="Jane Roe",
            signed_on=date(2026, 1, 1), representative_authority=None, description="notes",
            discloser="this practice", at=at).authorization_id for role in ROLES}
    ctx["holds"] = {role: lg.retention.place_hold(["C-1"], matter=None, reason="r",
                                                  by="comp", at=at).hold_id
                    for role in ROLES}
    lg.evidence.checkpoint(by="admin", at=at)
    yield p, ctx
    next(gen, None)


@pytest.mark.parametrize("op", OPS, ids=[op.name for op in OPS])
def test_each_role_is_refused_and_recorded_or_answered(ready: tuple[Practice, Ctx],
                                                       op: Op) -> None:
    p, ctx = ready
    allowed = op.allowed_roles()
    for role in ROLES:
        who = STAFF[role]
        before = p.refusals(who)
        response = p.client.request(op.method, op.path(ctx, role), headers=p.auth(who),
                                    json=op.body(ctx, role) if op.body else None)
        if role in allowed:
            assert response.status_code == op.status, (role, response.text)
            assert p.refusals(who) == before, role
        else:
            assert response.status_code == 403, (role, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            problem = response.json()
            assert problem["type"] == "urn:ledger:problem:refused"
            assert problem["detail"].endswith("(the attempt was recorded)")
            assert p.refusals(who) == before + 1, role


def test_every_operation_with_a_rule_is_in_the_matrix(ready: tuple[Practice, Ctx]) -> None:
    """A new operation joins the matrix: each one of the OpenAPI document is here, but
    those that any authenticated staff member may call."""
    p, _ = ready
    paths = p.client.get("/openapi.json").json()["paths"]
    operations = {(method.upper(), path) for path, item in paths.items() for method in item}
    open_to_all = {("GET", "/v1/staff"), ("GET", "/v1/roles")}
    ctx: Ctx = defaultdict(lambda: Placeholder("{id}"))
    covered = {(op.method, op.path(ctx, "admin").split("?")[0]) for op in OPS}
    missing = {(m, path) for m, path in operations - open_to_all
               if not any(m == cm and _same(path, cp) for cm, cp in covered)}
    assert missing == set()


class Placeholder(str):
    """Any id, also where a path looks one up per role."""

    def __getitem__(self, key: object) -> Placeholder:  # type: ignore[override]
        return self


def _same(template: str, concrete: str) -> bool:
    a, b = template.strip("/").split("/"), concrete.strip("/").split("/")
    return len(a) == len(b) and all(x == y or x.startswith("{") for x, y in zip(a, b,
                                                                                 strict=True))
