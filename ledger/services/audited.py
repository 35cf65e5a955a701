"""The audited use: how every service records an attempt, granted or not.

A service opens an :class:`Attempt` for one action by one person, asks the roles table
(``decide``), and ends the attempt in exactly one audit entry: ``refuse`` (denied; raises
:class:`Refused`), ``load`` (not-found when what it reads is missing or destroyed;
re-raises), or ``commit`` (granted, saved in the same transaction as the aggregates the
action changed); ``commit_each`` is for an action that changes many records at once (an
import: one granted entry per record, saved with it); ``save`` is for actions whose own
events are the record. Inside
``with attempt:`` every event the action creates carries the actor and role. No service
writes an audit entry any other way.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import NoReturn, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from ledger.aggregates.audit import Action, AuditEntry, Outcome
from ledger.aggregates.base import Actor, acting_as, utc
from ledger.errors import BadInput, Busy, ContentDestroyed, NotFound, Refused
from ledger.identifiers import check_staff_id
from ledger.rules import roles
from ledger.rules.roles import Decision, Rule, StaffView
from ledger.stores.clinical import ClinicalStore
from ledger.views import Principal

T = TypeVar("T")
CONFLICT_RETRIES = 20


@dataclass(frozen=True)
class Done:
    """One record an action changed, for :meth:`Attempt.commit_each`: its own granted
    entry (``action``, ``object_type``, ``object_id``) and the aggregates that changed."""

    action: Action
    object_type: str
    object_id: UUID
    client_id: UUID
    aggregates: tuple[Aggregate, ...]
    version: int | None = None
    reason: str | None = None


_proven: ContextVar[StaffView | None] = ContextVar("ledger_proven_staff", default=None)


@contextmanager
def proven(principal: Principal) -> Iterator[None]:
    """Inside, an attempt by the principal takes the active staff member and role that
    authentication read for this very call (a request of the HTTP service), rather than
    reading them again. Any other actor is read as always."""
    staff = (StaffView(principal.staff_id, principal.role, True)
             if principal.role is not None else None)
    token = _proven.set(staff)
    try:
        yield
    finally:
        _proven.reset(token)


def _proven_as(staff_id: str) -> StaffView | None:
    staff = _proven.get()
    return staff if staff is not None and staff.staff_id == staff_id else None


def actor_for(staff: StaffView | None, by: str) -> Actor:
    return Actor(id=by, role=staff.role if staff else "unknown")


class Attempt:
    """One person's attempt at one action, recorded in ``store`` however it ends."""

    def __init__(self, store: ClinicalStore, by: str, action: Action, object_type: str, *,
                 at: datetime, purpose: str | None = None, client_id: UUID | None = None,
                 object_id: UUID | None = None, version: int | None = None) -> None:
        self.store = store
        self.by = check_staff_id(by, "the acting staff id")  # malformed: never recorded
        self.staff = _proven_as(self.by) or store.staff_view(self.by)
        self.actor = actor_for(self.staff, by)
        self.action = action
        self.object_type = object_type
        self.at = utc(at)
        self.purpose = purpose
        self.client_id = client_id
        self.object_id = object_id
        self.version = version
        self._acting = acting_as(self.actor)

    def __enter__(self) -> Attempt:
        self._acting.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._acting.__exit__(kind, error, tb)

    def about(self, *, client_id: UUID | None = None, object_id: UUID | None = None,
              version: int | None = None) -> None:
        """What the attempt concerns, once it is known (say, after loading the note)."""
        self.client_id = client_id or self.client_id
        self.object_id = object_id or self.object_id
        self.version = version or self.version

    # ----- deciding ------------------------------------------------------------------------

    def decide(self, rule: Rule, *, originator: str | None = None, what: str = "",
               break_glass_reason: str | None = None) -> None:
        """Ask the roles table; a refusal is recorded and raised."""
        self.check(roles.decide(self.staff, rule, purpose=self.purpose, originator=originator,
                                what=what), break_glass_reason=break_glass_reason)

    def check(self, decision: Decision, *, break_glass_reason: str | None = None) -> None:
        if not decision.granted:
            self.refuse(decision.reason or "refused", break_glass_reason=break_glass_reason)

    def refuse(self, reason: str, *, break_glass_reason: str | None = None) -> NoReturn:
        """Record the refusal and raise it. A refused break-the-glass attempt is recorded
        flagged, with the reason given (which stays out of the error message)."""
        recorded = reason if break_glass_reason is None else (
            f"{reason}; break-the-glass reason given: {break_glass_reason}")
        self._save(self._entry("denied", recorded, break_glass_reason is not None))
        raise Refused(f"refused: {reason} (the attempt was recorded)")

    # ----- ending --------------------------------------------------------------------------

    def load(self, read: Callable[[], T]) -> T:
        """``read()``, recording a not-found attempt (and re-raising) if what it reads does
        not exist or was destroyed."""
        try:
            return read()
        except (NotFound, ContentDestroyed) as e:
            self._save(self._entry("not-found", "content destroyed"
                                   if isinstance(e, ContentDestroyed) else None, False))
            raise

    def commit(self, *aggregates: Aggregate, reason: str | None = None,
               break_glass: bool = False) -> None:
        """The granted entry, saved with the aggregates the action changed."""
        self._save(*aggregates, self._entry("granted", reason, break_glass))

    def commit_each(self, done: Sequence[Done]) -> None:
        """Granted entries, one per changed record, saved in one transaction with the
        aggregates they changed (an aggregate named by several is saved once)."""
        with acting_as(self.actor):
            entries = [AuditEntry.record(
                action=d.action, outcome="granted", purpose=self.purpose,
                object_type=d.object_type, object_id=d.object_id, client_id=d.client_id,
                version=d.version, reason=d.reason, break_glass=False, at=self.at)
                for d in done]
        changed = list({id(a): a for d in done for a in d.aggregates}.values())
        self._save(*changed, *entries)

    def save(self, *aggregates: Aggregate) -> None:
        """Save aggregates whose own events are the record of the action (staff changes,
        holds, disclosures, preconditions): they carry the actor; no separate entry."""
        self._save(*aggregates)

    def _entry(self, outcome: Outcome, reason: str | None, break_glass: bool) -> AuditEntry:
        with acting_as(self.actor):
            return AuditEntry.record(
                action=self.action, outcome=outcome, purpose=self.purpose,
                object_type=self.object_type, object_id=self.object_id,
                client_id=self.client_id, version=self.version, reason=reason,
                break_glass=break_glass, at=self.at)

    def _save(self, *aggregates: Aggregate) -> None:
        with acting_as(self.actor):
            self.store.save(*aggregates)


def retry_on_conflict(attempt: Callable[[], T]) -> T:
    """Re-run a read-modify-save command when a concurrent writer saved the same aggregate,
    backing off with jitter so that contending writers spread out."""
    for k in range(CONFLICT_RETRIES):
        try:
            return attempt()
        except IntegrityError:
            time.sleep(random.uniform(0, min(1.0, 0.01 * 2**k)))  # noqa: S311 (jitter)
    raise Busy("the record is being changed by others; nothing was saved, try again")


def check_break_glass(reason: str | None) -> str | None:
    if reason is not None and not reason.strip():
        raise BadInput("break-the-glass needs a --reason")
    return reason
