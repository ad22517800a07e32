"""A setting's value from a flag's text or a sweep file's YAML, by the field's type; checking is the field's own.

Reading never judges a value: text that is not a number stays text, and the field's check (sweep/schema.py)
refuses it with one line. A flag's comma list (`--seeds 0,1,2`) is its items, as `--seeds 0 1 2` is.
"""

import argparse
import ast
import dataclasses
import types
import typing
from typing import Any

from optlab.errors import OptlabError
from optlab.sweep.grid import DEFAULT_LRS, parse_lr_tokens


def _number(text: str) -> Any:
    """'3' to 3, '1e-3' or '0.5' to a float; anything else stays text."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def count_or_auto(text: str) -> int | str:
    """--parallel's text, judged as argparse types are: a flag that is neither a count nor auto is argparse's line."""
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a count or auto; got {text!r}") from None


def literal(value: Any) -> Any:
    """An optimizer argument's value: text read as Python reads it (YAML reads 5e-4 as text), lists as tuples."""
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return value
    return tuple(literal(item) for item in value) if isinstance(value, list) else value


def union_parts(hint: Any) -> tuple[Any, ...]:
    """int | None to (int, NoneType); list[int] to (list[int],)."""
    return typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)


def _scalar(value: Any, hint: Any) -> Any:
    """One value of a number-like field (int, float, int | str, ...): text to a number where it is one."""
    parts = union_parts(hint)
    if isinstance(value, str):
        if "," in value and any(typing.get_origin(part) is list for part in parts):  # --devices 0,1
            return [_number(item) for item in value.split(",") if item]
        value = _number(value)
    if isinstance(value, int) and not isinstance(value, bool) and float in parts and int not in parts:
        return float(value)  # a float field keeps floats, as argparse's type=float did
    return value


def _items(value: Any, item_hint: Any) -> Any:
    if value is None:
        return None
    values = value if isinstance(value, (list, tuple)) else [value]
    items = []
    for item in values:
        pieces = [piece for piece in item.split(",") if piece] if isinstance(item, str) else [item]
        items += [_number(piece) if item_hint is int and isinstance(piece, str) else piece for piece in pieces]
    return items


def _mapping(value: Any, item_hint: Any, nested: bool, flag: str) -> Any:
    """KEY=VALUE texts (the flag's form) or a mapping; nested: NAME: {KEY: VALUE} is NAME.KEY."""
    read = literal if item_hint is Any else (lambda item: item)
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        pairs = []
        for item in value:
            key, equals, raw = item.partition("=")
            if not equals:
                raise OptlabError(f"{flag} takes KEY=VALUE, got {item!r}; e.g. {flag} weight_decay=5e-4")
            pairs.append((key, raw))
        value = dict(pairs)
    if not isinstance(value, dict):
        return value  # the field's check says what it takes
    flat = {}
    for key, item in value.items():
        if nested and isinstance(item, dict):
            flat.update({f"{key}.{inner}": read(arg) for inner, arg in item.items()})
        else:
            flat[str(key)] = read(item)
    return flat


def read_lrs(value: Any) -> dict[str, Any]:
    """--lrs sets two fields: the shared choice and the named optimizers' own (sweep/grid.py)."""
    shared, own = parse_lr_tokens(value)
    return {"lrs": list(DEFAULT_LRS) if shared is None else shared, "optimizer_lrs": own}


def read(item: dataclasses.Field, hint: Any, value: Any, where: str) -> dict[str, Any]:
    """The fields (usually just this one) that a flag's text or a file's value sets."""
    if "read" in item.metadata:
        return item.metadata["read"](value)
    parts = [part for part in union_parts(hint) if part is not type(None)]
    origin = typing.get_origin(parts[0])
    if parts == [bool]:
        return {item.name: value}  # a switch: true or false as given; the check refuses the rest
    if parts == [str]:
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        return {item.name: str(value) if number else value}  # a text given a bare number (precision: 32)
    if origin is list and len(parts) == 1:
        return {item.name: _items(value, typing.get_args(parts[0])[0])}
    if origin is dict:
        return {item.name: _mapping(value, typing.get_args(parts[0])[1], item.metadata.get("nested", False), where)}
    return {item.name: _scalar(value, hint)}
