"""Which keyword arguments an optimizer takes, their defaults, and the shape a given value must have."""

import inspect
from typing import Any

from optlab import checks
from optlab.errors import OptlabError
from optlab.optimizers.plugins import is_plugin
from optlab.optimizers.specs import optimizer_spec

# Arguments optlab sets itself; a user passing them would be silently overridden.
_RESERVED = {"self", "params", "lr"}


def _signature(name: str) -> inspect.Signature:
    target = optimizer_spec(name).cls
    return inspect.signature(target.__init__ if inspect.isclass(target) else target)


def default_arguments(name: str) -> dict[str, Any]:
    """The arguments a run of the named optimizer gets when none is given: its signature's, then the entry's."""
    parameters = _signature(name).parameters.items()
    found = {key: p.default for key, p in parameters if p.default is not inspect.Parameter.empty}
    return {**found, **optimizer_spec(name).defaults}


def accepted_arguments(name: str) -> list[str]:
    """Keyword arguments the named optimizer's constructor takes, besides params and lr."""
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [p.name for p in _signature(name).parameters.values() if p.kind in named and p.name not in _RESERVED]


def accepts_argument(name: str, key: str) -> bool:
    """Whether key is one of name's arguments; a plug-in with **kwargs accepts any (its constructor judges)."""
    if key in accepted_arguments(name):
        return True
    open_ended = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in _signature(name).parameters.values())
    return is_plugin(name) and open_ended


def check_lr(lr: float) -> None:
    if not checks.is_number(lr) or not lr > 0:
        raise OptlabError(f"learning rate must be a finite number > 0, got {checks.shown(lr)}")


def flag_text(value: Any) -> str:
    """A value as --optimizer-args spells it: 0.9,0.999 for a pair."""
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return str(value)


_COUNTS = {2: "two", 3: "three", 4: "four"}


def check_shape(key: str, value: Any, default: Any, spelled: str) -> None:
    """A value of the default's shape: as many numbers as a tuple default holds, a number for a number."""
    if isinstance(default, (list, tuple)) and default:
        numbers = [checks.is_number(item) for item in default]
        fits = isinstance(value, (list, tuple)) and len(value) == len(default) and all(
            checks.is_number(item) for item, number in zip(value, numbers) if number)
        takes = f"{_COUNTS.get(len(default), len(default))} {'numbers' if all(numbers) else 'values'}"
    elif checks.is_number(default):
        fits = checks.is_number(value)
        takes = "one finite number"
    else:
        return
    if not fits:
        raise OptlabError(f"{spelled}={flag_text(value)}: {key} takes {takes}, e.g. {spelled}={flag_text(default)}")
