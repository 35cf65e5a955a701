"""How the acting person reached the ledger (IHE BALP's agents), fed to every event by a
context variable beside the actor. Light on purpose: the CLI sets it before any command runs,
so it must not load the database stack (``ledger --help`` stays fast)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Agent:
    """``via``: the service principal that acted for the actor (an EHR integration);
    ``os_user``: the operating-system user who ran a local command (the key holder's local
    mode, where the named actor is only claimed)."""

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


def current_agent() -> Agent:
    return _agent.get()


def adopt(agent: Agent) -> None:
    """Make ``agent`` this thread's for good: for a worker thread that starts with an empty
    context (a scheduler's pool), given the agent of the process that started it."""
    _agent.set(agent)
