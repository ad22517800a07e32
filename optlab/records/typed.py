"""Frozen dataclasses read from and written to JSON, field for field.

A record knows three kinds of keys: its declared fields (type-checked on reading, so a damaged or foreign file is
refused in one place), fields an older layout lacked (filled by the record's `legacy` defaults and not written
back, so a file read and written again is unchanged), and keys a newer optlab added (kept in `extra`, written
back as they were).
"""

import dataclasses
import functools
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

T = TypeVar("T", bound="JsonRecord")
_SKIP = ("extra", "filled")


class DamagedRecord(ValueError):
    """A JSON value that cannot be the record it should be: a key missing, or a value of the wrong type."""


@functools.cache
def _is_optional(kind: Any) -> tuple[bool, Any]:
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        args = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        if len(args) == 1 and len(typing.get_args(kind)) == 2:  # X | None: the only union a record declares
            return True, args[0]
    return False, kind


def _read(kind: Any, value: Any, where: str) -> Any:
    """value as `kind`: exact types (a bool is no number), nested records and tuples of them read in turn."""
    optional, inner = _is_optional(kind)
    if value is None:
        if optional or kind is Any:
            return None
        raise DamagedRecord(f"{where} is null")
    kind = inner
    if kind is Any:
        return value
    if isinstance(kind, type) and issubclass(kind, JsonRecord):
        return kind.from_json(value, where)
    origin = typing.get_origin(kind)
    if origin is tuple:
        if not isinstance(value, list):
            raise DamagedRecord(f"{where} is not a list")
        item = typing.get_args(kind)[0]
        return tuple(_read(item, entry, f"{where}[{index}]") for index, entry in enumerate(value))
    if origin in (dict, Mapping) or kind is dict:
        if not isinstance(value, dict):
            raise DamagedRecord(f"{where} is not a mapping")
        return dict(value)
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise DamagedRecord(f"{where} is not a number")
        return value  # a whole number stays one, so a file is written back as it was read
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise DamagedRecord(f"{where} is not a whole number")
        return value
    if kind in (str, bool):
        if not isinstance(value, kind):
            raise DamagedRecord(f"{where} is not a {kind.__name__}")
        return value
    if kind is list or typing.get_origin(kind) is list:
        if not isinstance(value, list):
            raise DamagedRecord(f"{where} is not a list")
        return value
    raise TypeError(f"no reader for {kind!r} ({where})")


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """A record class's field types, resolved once (reading a sweep reads every epoch of every run)."""
    return typing.get_type_hints(cls)


@functools.cache
def _fields(cls: type) -> tuple[dataclasses.Field, ...]:
    return dataclasses.fields(cls)


def _write(value: Any) -> Any:
    if isinstance(value, JsonRecord):
        return value.to_json()
    if isinstance(value, tuple):
        return [_write(item) for item in value]
    return value


@dataclass(frozen=True)
class JsonRecord:
    """Base of the records: `legacy` maps a field an older layout lacked to how its value is derived."""

    legacy: ClassVar[Mapping[str, Callable[[Mapping[str, Any]], Any]]] = {}
    # Keyword-only, so the records' own fields come first and may be required.
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict, compare=False, kw_only=True)
    filled: frozenset = dataclasses.field(default=frozenset(), compare=False, kw_only=True)

    @classmethod
    def from_json(cls: type[T], payload: Any, where: str = "") -> T:
        where = where or cls.__name__
        if not isinstance(payload, Mapping):
            raise DamagedRecord(f"{where} is not a mapping")
        hints = _hints(cls)
        values: dict[str, Any] = {}
        filled = []
        for spec in _fields(cls):
            name = spec.name
            if name in _SKIP:
                continue
            if name in payload:
                values[name] = _read(hints[name], payload[name], f"{where}.{name}")
            elif name in cls.legacy:
                values[name] = cls.legacy[name](payload)
                filled.append(name)
            elif spec.default is not dataclasses.MISSING or spec.default_factory is not dataclasses.MISSING:
                filled.append(name)
            else:
                raise DamagedRecord(f"{where} has no {name!r}")
        names = {spec.name for spec in _fields(cls)}
        extra = {key: value for key, value in payload.items() if key not in names}
        return cls(**values, extra=extra, filled=frozenset(filled))  # type: ignore[call-arg]

    def to_json(self) -> dict[str, Any]:
        """The JSON object this record was read from (or will be written as): filled legacy fields left out."""
        payload = {spec.name: _write(getattr(self, spec.name))
                   for spec in dataclasses.fields(self)  # type: ignore[arg-type]
                   if spec.name not in _SKIP and spec.name not in self.filled}  # type: ignore[attr-defined]
        payload.update(self.extra)  # type: ignore[attr-defined]
        return payload
