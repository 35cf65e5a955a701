"""A client's timeline in one store: its access, disclosure, refusal, amendment and
origination events, and its retention events (legal holds placed and released,
destruction preconditions met, destruction receipts).

Both kinds are found through indexed read models rather than a scan of the log: the
access events by the access projection's client index, the retention events by the
retention-facts projection (a client's preconditions and receipts by its client index; the
holds naming it from the hold rows, which are few). The events themselves are then read
from the log by position. Every one of them is audit metadata, sealed under the store's
audit key, so a destroyed client's timeline still reads, its receipts last.

Each item says what happened with codes and ids only: free text (a refusal's or hold's
reason, a matter, a precondition's note, a recipient's name) can name people and stays out.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from ledger.aggregates.destruction import Destruction
from ledger.aggregates.hold import Hold
from ledger.aggregates.precondition import PreconditionMet
from ledger.queries import Query
from ledger.stores.clinical import ClinicalStore
from ledger.views import AccessRecord, TimelineItem

# The kind of a granted audit entry, by its action (other granted actions are uses).
_GRANTED_KINDS = {"originate": "origination", "amend": "amendment", "disclose": "disclosure",
                  "register": "registration", "authorize": "authorization",
                  "revoke": "revocation", "expire": "expiry", "import": "import"}


def store_timeline(store: ClinicalStore, client_id: UUID, *, since: date | None = None,
                   until: date | None = None) -> list[TimelineItem]:
    """The client's events in ``store`` within the period (days, inclusive), in log order."""
    records = store.access_records(Query(client_id=client_id, since=since, until=until))
    items = [_access_item(r) for r in records if r.client_id == client_id]
    projection = store.retention_projection
    projection.catch_up()
    positions = projection.client_event_positions(str(client_id))
    for position, event in store.event_log.events_at(positions):
        item = _retention_item(store.settings.name, position, event)
        day = item.at.date()
        if (since is None or day >= since) and (until is None or day <= until):
            items.append(item)
    return sorted(items, key=lambda i: (i.at, i.position))


def kind_of(r: AccessRecord) -> str:
    """What an access or disclosure event was, for a timeline."""
    if r.outcome == "not-found":
        return "not-found"
    if r.outcome != "granted":
        return "refusal"
    if r.break_glass:
        return "break-the-glass"
    return _GRANTED_KINDS.get(r.action, "use")


def _access_item(r: AccessRecord) -> TimelineItem:
    kind = kind_of(r)
    what = f"{r.action} {r.object_type}"
    if r.action == "disclose" and r.recipient_type:
        what += f" to a recipient of type {r.recipient_type}"
    if kind == "disclosure" and r.reason:  # an authorization's id, or an exception's code
        what += f" under {r.reason}"
    description = {"refusal": f"refused: {what}", "not-found": f"not found: {what}",
                   "break-the-glass": f"break-the-glass: {what}"}.get(kind, what)
    return TimelineItem(at=r.at, store=r.store, position=r.position, kind=kind,
                        actor=r.actor_id, role=r.actor_role, purpose=r.purpose,
                        outcome=r.outcome, object_id=r.object_id, description=description)


def _retention_item(store: str, position: int, event: object) -> TimelineItem:
    if isinstance(event, Hold.Placed | Hold.Released):
        placed = isinstance(event, Hold.Placed)
        kind = "hold" if placed else "hold-release"
        description = "legal hold placed" if placed else "legal hold released"
    elif isinstance(event, PreconditionMet.Recorded):
        kind = "precondition"
        description = (f"destruction precondition {event.kind} of rule {event.rule_id} "
                       f"met on {event.done_on}")
    else:
        assert isinstance(event, Destruction.Recorded), type(event).__name__
        kind = "destruction"
        description = (f"content destroyed under rule {event.rule_id} ({event.citation}), "
                       f"due on {event.destroy_on}")
    return TimelineItem(at=event.timestamp, store=store, position=position, kind=kind,
                        actor=event.actor_id, role=event.actor_role, purpose=None,
                        outcome="granted", object_id=str(event.originator_id),
                        description=description)
