"""The service's JSON answers back into the ledger's records (frozen dataclasses), by their
declared field types: ids, times, dates, hex bytes, tuples and nested records. A field
the answer lacks (a server of another version) is one line, never a traceback."""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import date, datetime
from functools import cache
from typing import Any, TypeVar, Union
from uuid import UUID

from cli.remote.problems import ServerFailed

T = TypeVar("T")


def build(cls: type[T], data: Any) -> T:
    """A ``cls`` record from its JSON object (fields it does not declare are ignored)."""
    if not isinstance(data, dict):
        raise _unexpected(cls.__name__)
    values = {}
    hints = _hints(cls)  # type: ignore[arg-type]
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if not f.init:
            continue
        if f.name in data:
            values[f.name] = convert(hints[f.name], data[f.name], f"{cls.__name__}.{f.name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise _unexpected(f"{cls.__name__}.{f.name}")
    return cls(**values)


def build_list(cls: type[T], data: Any) -> list[T]:
    if not isinstance(data, list):
        raise _unexpected(f"a list of {cls.__name__}")
    return [build(cls, item) for item in data]


def convert(hint: Any, value: Any, where: str) -> Any:
    """``value`` as the type ``hint`` declares."""
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        (inner,) = [o for o in options if o is not type(None)]
        return convert(inner, value, where)
    if value is None:
        raise _unexpected(where)
    try:
        if origin in (tuple, list):
            if not isinstance(value, list):
                raise _unexpected(where)
            inner = typing.get_args(hint)[0]
            items = [convert(inner, v, where) for v in value]
            return tuple(items) if origin is tuple else items
        if dataclasses.is_dataclass(hint):
            return build(hint, value)  # type: ignore[arg-type]
        if hint is datetime:
            return datetime.fromisoformat(value)
        if hint is date:
            return date.fromisoformat(value)
        if hint is UUID:
            return UUID(value)
        if hint is bytes:
            return bytes.fromhex(value)
        if hint in (str, int, bool) and isinstance(value, hint) and not (
                hint is int and isinstance(value, bool)):
            return value
    except (TypeError, ValueError, AttributeError):
        pass
    raise _unexpected(where)


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _unexpected(where: str) -> ServerFailed:
    return ServerFailed(f"the server's answer does not have what this version of the ledger "
                        f"expects ({where}): use the same version as the server")
