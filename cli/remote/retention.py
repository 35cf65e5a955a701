"""Retention and legal holds over the API (``/v1/retention``, ``/v1/holds``): the methods of
:class:`ledger.services.retention.Retention` that the commands call. ``by`` and ``at`` are
the server's (see :mod:`cli.remote.notes`).

A schedule comes back as the server computed it: its status and why as it states them,
and its explanation rebuilt with this ledger's own rules (the answer names each rule by
id and gives its dates; the rule's text, years and preconditions are the package's, the
same on both sides of one version)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from cli.remote.connection import Connection
from cli.remote.decode import build, build_list, convert
from cli.remote.problems import ServerFailed
from ledger.rules.retention import Precondition, Rule
from ledger.rules.retention_engine import Episode, Explanation, RuleDates
from ledger.views import HoldInfo


@dataclass(frozen=True)
class ServerSchedule:
    """A client's schedule as the server gave it: what the commands print of
    :class:`ledger.services.retention.Schedule`."""

    client_id: UUID
    at: date
    status: str
    why: str
    explanation: Explanation | None
    holds: tuple[HoldInfo, ...]
    open_preconditions: tuple[tuple[Rule, Precondition], ...] = ()
    backups: str | None = None
    client_ref: str | None = None  # while the client's key exists


class Retention:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def explain(self, client_ref: str, *, by: str | None, at: datetime,
                as_of: datetime | None = None) -> ServerSchedule:
        return schedule(self.connection.call("POST", "/v1/retention/explain",
                                             body={"client": client_ref, "at": as_of}))

    def plan(self, *, by: str | None, at: datetime, as_of: datetime | None = None,
             from_log: bool = False) -> list[ServerSchedule]:
        params: dict[str, Any] = {"at": as_of}
        if from_log:
            params["from_log"] = "true"
        answer = self.connection.call("GET", "/v1/retention/plan", params=params)
        if not isinstance(answer, list):
            raise _unexpected("the plan")
        return [schedule(s) for s in answer]

    def run(self, *, by: str | None, at: datetime, dry_run: bool = False,
            progress: Callable[[ServerSchedule], None] | None = None
            ) -> list[ServerSchedule]:
        """A purge runs as of the server's now; a dry run as of ``at`` (the command gives
        its --at, or now). No progress is reported: the server answers when done."""
        answer = self.connection.call("POST", "/v1/retention/run", body={
            "dry_run": dry_run, "at": at if dry_run else None})
        return [ServerSchedule(client_id=d.client_id, at=at.date(), status=d.status,
                               why=d.why, explanation=None, holds=(), client_ref=d.client)
                for d in build_list(_Destroyed, answer)]

    def record_precondition(self, client_ref: str, *, rule_id: str, kind: str, done_on: date,
                            note: str, by: str | None, at: datetime) -> None:
        self.connection.call("POST", "/v1/retention/preconditions", body={
            "client": client_ref, "rule": rule_id, "kind": kind, "on": done_on,
            "note": note})

    def place_hold(self, client_refs: list[str], *, matter: str | None, reason: str,
                   by: str | None, at: datetime) -> HoldInfo:
        one = len(client_refs) == 1 and matter is None
        return build(HoldInfo, self.connection.call("POST", "/v1/holds", body={
            "client": client_refs[0] if one else None,
            "clients": None if one else client_refs, "matter": matter, "reason": reason}))

    def release_hold(self, hold_id: UUID, *, reason: str, by: str | None,
                     at: datetime) -> HoldInfo:
        return build(HoldInfo, self.connection.call(
            "POST", f"/v1/holds/{hold_id}/release", body={"reason": reason}))

    def list_holds(self, *, by: str | None, at: datetime) -> list[HoldInfo]:
        return build_list(HoldInfo, self.connection.call("GET", "/v1/holds"))


@dataclass(frozen=True)
class _Destroyed:
    client_id: UUID
    status: str
    why: str
    client: str | None = None


def schedule(data: Any) -> ServerSchedule:
    """A schedule from the answer (``ScheduleOut``): the explanation only while the
    client's facts exist (the answer then names the rules that govern it, or says why
    none gives a date)."""
    if not isinstance(data, dict):
        raise _unexpected("a schedule")
    plain = build(_Plain, data)
    if not data.get("rules") and not data.get("skipped") and data.get("blocked") is None \
            and data.get("destroy_on") is None:
        return ServerSchedule(plain.client_id, plain.at, plain.status, plain.why, None,
                              plain.holds, backups=plain.backups, client_ref=plain.client)
    rules = {r.id: r for r in _rules()}
    dated = tuple(RuleDates(rule=_rule(rules, r["id"]), anchor=_day(r, "anchor_date"),
                            adult_until=_day(r, "adult_until"),
                            minor_until=_day(r, "minor_until", optional=True),
                            keep_until=_day(r, "keep_until"),
                            cap_until=_day(r, "cap_until", optional=True),
                            episodes=tuple(_episode(ep) for ep in _list(r, "episodes")))
                  for r in _list(data, "rules"))
    by_id = {d.rule.id: d for d in dated}
    preconditions = tuple((_rule(rules, p["rule"]), _precondition(rules, p))
                          for p in _list(data, "preconditions"))
    open_ = tuple(pair for pair, p in zip(preconditions, _list(data, "preconditions"),
                                          strict=True) if p.get("open"))
    winner = data.get("winner")
    explanation = Explanation(
        rules=dated,
        skipped=tuple((_rule(rules, s["id"]), str(s["why"])) for s in _list(data, "skipped")),
        winner=by_id.get(winner) if isinstance(winner, str) else None,
        destroy_on=_day(data, "destroy_on", optional=True),
        capped=bool(data.get("capped")), blocked=data.get("blocked"),
        preconditions=preconditions,
        cap_conflicts=tuple(by_id[c] for c in data.get("cap_conflicts") or () if c in by_id))
    return ServerSchedule(plain.client_id, plain.at, plain.status, plain.why, explanation,
                          plain.holds, open_, backups=plain.backups, client_ref=plain.client)


@dataclass(frozen=True)
class _Plain:
    client_id: UUID
    at: date
    status: str
    why: str
    holds: tuple[HoldInfo, ...]
    backups: str | None = None
    client: str | None = None


def _rules() -> tuple[Rule, ...]:
    from ledger.rules.retention import load  # noqa: PLC0415

    return load()


def _rule(rules: dict[str, Rule], rule_id: Any) -> Rule:
    if not isinstance(rule_id, str) or rule_id not in rules:
        raise ServerFailed("the server applies a retention rule this version of the ledger "
                           "does not have: use the same version as the server")
    return rules[rule_id]


def _precondition(rules: dict[str, Rule], p: dict[str, Any]) -> Precondition:
    """The rule's precondition that the answer describes."""
    for candidate in _rule(rules, p.get("rule")).preconditions:
        if candidate.describe() == p.get("what"):
            return candidate
    raise _unexpected("a precondition")


def _day(data: Any, name: str, *, optional: bool = False) -> Any:
    value = data.get(name) if isinstance(data, dict) else None
    if value is None and optional:
        return None
    return convert(date, value, name)


def _episode(data: dict[str, Any]) -> Episode:
    text = {name: data.get(name) for name in ("state", "license", "facility", "end_kind")}
    if not isinstance(text["license"], str) or not all(
            v is None or isinstance(v, str) for v in text.values()):
        raise _unexpected("episodes")
    return Episode(license=text["license"], facility=text["facility"],
                   start=_day(data, "start"), end=_day(data, "end", optional=True),
                   end_kind=text["end_kind"], jurisdiction=text["state"])


def _list(data: dict[str, Any], name: str) -> list[Any]:
    value = data.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise _unexpected(name)
    return value


def _unexpected(what: str) -> ServerFailed:
    return ServerFailed(f"the server's answer does not have what this version of the ledger "
                        f"expects ({what}): use the same version as the server")
