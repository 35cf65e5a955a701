"""What every ledger event carries: who acted, in which role (fed by a context variable).

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


@dataclass(frozen=True)
class Agent:
    """How the actor reached the ledger (IHE BALP's agents): ``via`` the service principal
    that acted for them (an EHR integration), ``os_user`` the operating-system user who ran
    a local command (the key holder's local mode, where the named actor is only claimed)."""

    via: str | None = None
    os_user: str | None = None


NO_AGENT = Agent()
_agent: ContextVar[Agent] = ContextVar("ledger_agent", default=NO_AGENT)


@contextmanager
def acting_through(agent: Agent) -> Iterator[Agent]:
    """Every event made inside records ``agent`` beside the actor."""
    token = _agent.set(agent)
    try:
        yield agent
    finally:
        _agent.reset(token)


def _actor_via() -> str | None:
    return _agent.get().via


def _actor_os_user() -> str | None:
    return _agent.get().os_user


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
