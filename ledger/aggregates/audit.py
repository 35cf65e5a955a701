"""Audit entries: one immutable event per clinical action, granted or refused.

They carry metadata only (who, role, action, purpose, outcome, object ids, time), are
sealed under the store's audit key rather than any client's content key, and so
outlive a content purge (45 CFR 164.530(j); 164.528's six-year lookback).
Action names follow the ISO 21089 record-lifecycle vocabulary (regulation.md 3.3).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from ledger.aggregates.base import LedgerEvent

Action = Literal["originate", "amend", "access", "list", "register", "authorize", "revoke",
                 "expire", "disclose", "export", "destroy", "authenticate", "import",
                 "sign-in", "sign-out"]
Outcome = Literal["granted", "denied", "not-found"]


class AuditEntry(Aggregate):
    class Recorded(Aggregate.Created, LedgerEvent):
        # Version 2 added ``break_glass``: an access granted by override, with its reason.
        class_version = 2
        action: str
        outcome: str
        purpose: str | None
        object_type: str
        object_id: str | None
        client_id: UUID | None
        version: int | None
        reason: str | None
        break_glass: bool

        @staticmethod
        def upcast_v1_v2(state: dict[str, object]) -> None:
            state["break_glass"] = False

    def __init__(self, action: str, outcome: str, purpose: str | None, object_type: str,
                 object_id: str | None, client_id: UUID | None, version: int | None,
                 reason: str | None, break_glass: bool, actor_id: str, actor_role: str,
                 timestamp: datetime) -> None:
        self.action = action
        self.outcome = outcome
        self.purpose = purpose
        self.object_type = object_type
        self.object_id = object_id
        self.client_id = client_id
        self.note_version = version
        self.reason = reason
        self.break_glass = break_glass
        self.actor_id = actor_id
        self.actor_role = actor_role
        self.at = timestamp

    @classmethod
    def record(cls, *, action: Action, outcome: Outcome, object_type: str, at: datetime,
               purpose: str | None = None, object_id: UUID | None = None,
               client_id: UUID | None = None, version: int | None = None,
               reason: str | None = None, break_glass: bool = False) -> AuditEntry:
        return cls._create(cls.Recorded, id=uuid4(), action=action, outcome=outcome,
                           purpose=purpose, object_type=object_type,
                           object_id=str(object_id) if object_id else None,
                           client_id=client_id, version=version, reason=reason,
                           break_glass=break_glass, timestamp=at)
