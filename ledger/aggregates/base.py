"""What every ledger event carries: who acted, in which role (fed by a context variable),
and how they reached the ledger (the agent, :mod:`ledger.agent`).

The actor is set once per command with :func:`acting_as`, in the style of eventsourcing's
content-management example, instead of being threaded through every method.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime

from eventsourcing.domain import Aggregate

from ledger.agent import Agent, acting_through, current_agent
from ledger.errors import BadInput
from ledger.primitives.ids import named_id

__all__ = ["SYSTEM", "Actor", "Agent", "LedgerEvent", "acting_as", "acting_through", "named_id",
           "utc"]


@dataclass(frozen=True)
class Actor:
    id: str
    role: str


SYSTEM = Actor(id="system", role="system")
_actor: ContextVar[Actor] = ContextVar("ledger_actor", default=SYSTEM)


@contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    token = _actor.set(actor)
    try:
        yield actor
    finally:
        _actor.reset(token)


def _actor_via() -> str | None:
    return current_agent().via


def _actor_os_user() -> str | None:
    return current_agent().os_user


def _actor_id() -> str:
    return _actor.get().id


def _actor_role() -> str:
    return _actor.get().role


class LedgerEvent(Aggregate.Event):
    """Base of every ledger event: records the acting person and their role."""

    actor_id: str = field(default_factory=_actor_id, init=False)
    actor_role: str = field(default_factory=_actor_role, init=False)
    actor_via: str | None = field(default_factory=_actor_via, init=False)
    actor_os_user: str | None = field(default_factory=_actor_os_user, init=False)


# Events recorded before the agent fields existed read them as None.
LedgerEvent.actor_via = None
LedgerEvent.actor_os_user = None


def utc(at: datetime) -> datetime:
    """Every recorded time is an aware UTC datetime; naive times are refused."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise BadInput("times must be timezone-aware (UTC)")
    return at.astimezone(UTC)
