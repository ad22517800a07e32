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


def _path(where: str, key: str | int) -> str:
    return f"{where}[{key}]" if isinstance(key, int) else f"{where}.{key}"


Reader = Callable[[Any, str, "str | int"], Any]


def _exactly(kinds: tuple[type, ...], says: str, excluded: type | None = None) -> Reader:
    def read(value: Any, where: str, key: str | int) -> Any:
        if not isinstance(value, kinds) or (excluded is not None and isinstance(value, excluded)):
            raise DamagedRecord(f"{_path(where, key)} {says}")
        return value
    return read


@functools.cache
def _reader(kind: Any) -> Reader:
    """How a value of `kind` is read, worked out once per type: exact types (a bool is no number), nested records
    and tuples of them read in turn. A value's place (where, key) becomes text only when it is refused."""
    optional, inner = _is_optional(kind)
    if kind is Any or inner is Any:
        return lambda value, where, key: value
    read_inner = _inner_reader(inner)

    def read(value: Any, where: str, key: str | int) -> Any:
        if value is None:
            if optional:
                return None
            raise DamagedRecord(f"{_path(where, key)} is null")
        return read_inner(value, where, key)
    return read


def _inner_reader(kind: Any) -> Reader:
    if isinstance(kind, type) and issubclass(kind, JsonRecord):
        return lambda value, where, key: kind.from_json(value, _path(where, key))
    origin = typing.get_origin(kind)
    if origin is tuple:
        item = _reader(typing.get_args(kind)[0])

        def read_tuple(value: Any, where: str, key: str | int) -> tuple:
            if not isinstance(value, list):
                raise DamagedRecord(f"{_path(where, key)} is not a list")
            place = _path(where, key)
            return tuple(item(entry, place, index) for index, entry in enumerate(value))
        return read_tuple
    if origin in (dict, Mapping) or kind is dict:
        mapping = _exactly((dict,), "is not a mapping")
        return lambda value, where, key: dict(mapping(value, where, key))
    if kind is float:  # a whole number stays one, so a file is written back as it was read
        return _exactly((int, float), "is not a number", excluded=bool)
    if kind is int:
        return _exactly((int,), "is not a whole number", excluded=bool)
    if kind in (str, bool):
        return _exactly((kind,), f"is not a {kind.__name__}")
    if kind is list or origin is list:
        return _exactly((list,), "is not a list")
    raise TypeError(f"no reader for {kind!r}")


@functools.cache
def _plan(cls: type) -> tuple[tuple[tuple[str, Reader, bool], ...], frozenset[str]]:
    """A record class's fields to read, each with its reader and whether it has a default, and every field name:
    worked out once (reading a sweep reads every epoch of every run)."""
    hints = typing.get_type_hints(cls)
    fields = dataclasses.fields(cls)
    steps = tuple((spec.name, _reader(hints[spec.name]),
                   spec.default is not dataclasses.MISSING or spec.default_factory is not dataclasses.MISSING)
                  for spec in fields if spec.name not in _SKIP)
    return steps, frozenset(spec.name for spec in fields)


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
        steps, names = _plan(cls)
        values: dict[str, Any] = {}
        filled = []
        for name, read, has_default in steps:
            if name in payload:
                values[name] = read(payload[name], where, name)
            elif name in cls.legacy:
                values[name] = cls.legacy[name](payload)
                filled.append(name)
            elif has_default:
                filled.append(name)
            else:
                raise DamagedRecord(f"{where} has no {name!r}")
        extra = {key: value for key, value in payload.items() if key not in names}
        return cls(**values, extra=extra, filled=frozenset(filled))  # type: ignore[call-arg]

    def to_json(self) -> dict[str, Any]:
        """The JSON object this record was read from (or will be written as): filled legacy fields left out."""
        payload = {spec.name: _write(getattr(self, spec.name))
                   for spec in dataclasses.fields(self)  # type: ignore[arg-type]
                   if spec.name not in _SKIP and spec.name not in self.filled}  # type: ignore[attr-defined]
        payload.update(self.extra)  # type: ignore[attr-defined]
        return payload
