"""Checks for every value a sweep accepts, one function per kind of value: exact types, ranges, finite numbers.

Flags, sweep files and plug-in attributes all pass through these before anything is written, so a bad value is
one line naming where it came from, what it takes and what was given. An int is not a bool or a float here:
YAML's `true` is not the seed 1, and `max_epochs: 2.5` is not 2.
"""

import math
import reprlib
from collections.abc import Callable
from typing import Any

from optlab.errors import OptlabError

MAX_SEED = 2**32  # numpy and torch seed generators take seeds below this
MAX_RUNS_WITHOUT_YES = 1000

_short = reprlib.Repr()
_short.maxstring, _short.maxother, _short.maxlist, _short.maxtuple, _short.maxdict = 40, 40, 6, 6, 4


def shown(value: Any) -> str:
    """A value as the user gave it, cut short: one line whatever it holds."""
    return _short.repr(value)


def is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """A finite int or float (not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _fail(where: str, takes: str, value: Any) -> None:
    raise OptlabError(f"{where} must be {takes}, got {shown(value)}")


def count(value: Any, where: str, minimum: int = 1) -> int:
    """An integer >= minimum."""
    if not is_integer(value) or value < minimum:
        _fail(where, f"an integer >= {minimum}", value)
    return value


def at_least(minimum: int) -> Callable[[Any, str], int]:
    """A check that takes an integer >= minimum."""

    def check(value: Any, where: str) -> int:
        return count(value, where, minimum)

    return check


def seed(value: Any, where: str = "--seeds") -> int:
    if not is_integer(value) or not 0 <= value < MAX_SEED:
        _fail(where, "an integer from 0 to 2**32-1", value)
    return value


def positive_number(value: Any, where: str) -> float:
    """A finite number > 0."""
    if not is_number(value) or not value > 0:
        _fail(where, "a finite number > 0", value)
    return value


def non_negative_number(value: Any, where: str) -> float:
    if not is_number(value) or not value >= 0:
        _fail(where, "a finite number >= 0", value)
    return value


def fraction(value: Any, where: str) -> float:
    """A number in (0, 1]."""
    if not is_number(value) or not 0 < value <= 1:
        _fail(where, "a number in (0, 1]", value)
    return value


def fraction_or_count(value: Any, where: str) -> float | int:
    """A float in (0, 1] (that share of the whole) or an integer >= 1 (that many)."""
    if isinstance(value, float) and is_number(value) and 0 < value <= 1:
        return value
    if is_integer(value) and value >= 1:
        return value
    _fail(where, "a fraction in (0, 1] like 0.1 or a count >= 1 like 50", value)


def count_or_auto(value: Any, where: str) -> int | str:
    if not (isinstance(value, str) and value == "auto"):
        count(value, where)
    return value


def boolean(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        _fail(where, "true or false", value)
    return value


def text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        _fail(where, "a non-empty text", value)
    return value


def choice(choices: tuple[str, ...]) -> Callable[[Any, str], str]:
    """A check that takes one of choices."""

    def check(value: Any, where: str) -> str:
        if not isinstance(value, str) or value not in choices:
            _fail(where, f"one of {', '.join(choices)}", value)
        return value

    return check


def optional(check: Callable[[Any, str], Any]) -> Callable[[Any, str], Any]:
    """check, or None (the problem's default, or not set)."""

    def check_or_none(value: Any, where: str) -> Any:
        return None if value is None else check(value, where)

    return check_or_none


def list_of(check: Callable[[Any, str], Any], minimum: int = 1) -> Callable[[Any, str], list]:
    """A list of values that each pass check, without repeats."""

    def check_list(values: Any, where: str) -> list:
        if not isinstance(values, (list, tuple)) or len(values) < minimum:
            _fail(where, f"a list of at least {minimum} value(s)", values)
        for value in values:
            check(value, f"each value of {where}")
        if len(set(values)) != len(values):
            repeated = next(value for value in values if values.count(value) > 1)
            raise OptlabError(f"{where} must not repeat a value; {shown(repeated)} is given twice")
        return list(values)

    return check_list


def mapping_of(key: Callable[[Any, str], Any], value: Callable[[Any, str], Any]) -> Callable[[Any, str], dict]:
    def check_mapping(values: Any, where: str) -> dict:
        if not isinstance(values, dict):
            _fail(where, "a mapping", values)
        for name, item in values.items():
            key(name, where)
            value(item, f"{where} {name}")
        return values

    return check_mapping


def anything(value: Any, where: str) -> Any:
    """A value checked by its own owner (the grid checks lrs and optimizer arguments against each optimizer)."""
    return value


def devices(value: Any, where: str = "--devices") -> Any:
    """Lightning's devices: auto, a count (-1: all), or a list of device indices."""
    if value == "auto" and isinstance(value, str):
        return value
    if is_integer(value) and value >= -1:
        return value
    if isinstance(value, (list, tuple)) and value and all(is_integer(item) and item >= 0 for item in value):
        return list(value)
    _fail(where, "a count, a list like 0,1, or auto", value)


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def grid_size(optimizers: list[str], lr_counts: dict[str, int], seeds: int, epochs: int, yes: bool,
              confirmations: int = 0, unit: str = "lrs") -> None:
    """A grid above MAX_RUNS_WITHOUT_YES runs stops here, with its size and cost, unless --yes confirms it.

    lr_counts: configurations per optimizer (lrs of a grid, trials of a search), each run at `seeds` seeds;
    confirmations: the confirmation runs after them.
    """
    runs = sum(lr_counts.values()) * seeds + confirmations
    if runs <= MAX_RUNS_WITHOUT_YES or yes:
        return
    counts = sorted(set(lr_counts.values()))
    each = _plural(counts[0], unit.removesuffix("s")) if len(counts) == 1 else f"{counts[0]}-{counts[-1]} {unit}"
    confirming = f" + {_plural(confirmations, 'confirmation run')}" if confirmations else ""
    raise OptlabError(f"{runs:,} runs ({_plural(len(optimizers), 'optimizer')} × {each} × {_plural(seeds, 'seed')}"
                      f"{confirming}), "
                      f"{runs * epochs:,} epochs of training in all; a grid above {MAX_RUNS_WITHOUT_YES:,} runs "
                      "needs --yes (or yes: true in the sweep file) to start")
