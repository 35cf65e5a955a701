"""One router per area, as the CLI has one module per command group."""

from __future__ import annotations

from api.routes import (
    audit,
    authorizations,
    clients,
    disclosures,
    evidence,
    investigation,
    notes,
    psychotherapy,
    records,
    retention,
    staff,
    tokens,
)

ROUTERS = (staff.router, tokens.router, clients.router, notes.router, psychotherapy.router,
           authorizations.router, disclosures.router, records.router, audit.router,
           retention.router, evidence.router, investigation.router)
