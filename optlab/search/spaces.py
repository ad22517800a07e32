"""What a search tunes for each optimizer: the hyperparameters practitioners tune, with ranges and scales.

Momentum-like coefficients are searched as 1 − β on a log scale (0.9 and 0.999 are a decade apart there, as
they are in effect: an averaging horizon of 10 against 1,000 steps). A weight decay is log-uniform over a range
whose bottom decade means "off": a value sampled below `zero_below` is exactly 0, so a search can find that
no decay is best. An optimizer's lr range spans ten times below and above its `--lrs auto` grid and its default
lr, so every range contains the default (a test checks every entry).

The sampler proposes points of the space; `optimizer_arguments` turns a point into the lr and keyword
arguments of one ordinary run.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from optlab.errors import OptlabError

LR_SPAN = 10.0  # the lr range: this factor below the smallest and above the largest of grid and default


@dataclass(frozen=True)
class Param:
    """One searched hyperparameter: a range, its scale, and how a sampled value becomes the argument."""

    name: str  # as the search names it: lr, weight_decay, one_minus_beta2, ...
    low: float
    high: float
    log: bool = True
    zero_below: float | None = None  # sampled values below this are exactly 0 ("off")

    def __post_init__(self) -> None:
        finite = all(math.isfinite(bound) for bound in (self.low, self.high))
        if not finite or not self.low < self.high or (self.log and self.low <= 0):
            scale = "log " if self.log else ""
            raise OptlabError(f"search range of {self.name} must be {scale}LOW:HIGH with "
                              f"{'0 < ' if self.log else ''}LOW < HIGH, both finite; got {self.low}:{self.high}")

    def value(self, sampled: float) -> float:
        """The argument a sampled point gives: 0 below zero_below, else the point itself."""
        return 0.0 if self.zero_below is not None and sampled < self.zero_below else sampled

    def holds(self, value: float) -> bool:
        """Whether the search can propose this value (0 counts where the range reaches off)."""
        if value == 0 and self.zero_below is not None:
            return True
        return self.low <= value <= self.high


def one_minus(name: str, low: float, high: float) -> Param:
    return Param(f"one_minus_{name}", low, high)


def decay(low: float = 1e-6, high: float = 0.1) -> Param:
    """Weight decay: the decade above low maps to 0."""
    return Param("weight_decay", low, high, zero_below=low * 10)


ADAM_LIKE = (one_minus("beta1", 0.01, 0.5), one_minus("beta2", 1e-4, 0.1), decay())
MOMENTUM = (one_minus("momentum", 0.01, 0.5), decay())

# Everything but the lr, whose range each optimizer's own grid and default give (see lr_param).
SPACES: dict[str, tuple[Param, ...]] = {
    "sgd": (decay(),),
    "momentum": MOMENTUM,
    "nesterov": MOMENTUM,
    "adam": ADAM_LIKE,
    "adamw": ADAM_LIKE,
    "nadam": ADAM_LIKE,
    "radam": ADAM_LIKE,
    "adamax": ADAM_LIKE,
    "rmsprop": (one_minus("alpha", 1e-3, 0.1), decay()),
    "adagrad": (decay(),),
    "adadelta": (one_minus("rho", 1e-3, 0.5), decay()),
    "adafactor": (Param("beta2_decay", -1.0, -0.5, log=False), decay()),
    "lion": (one_minus("beta1", 0.01, 0.5), one_minus("beta2", 1e-3, 0.1), decay()),
    "lamb": ADAM_LIKE,
    "muon": (one_minus("momentum", 0.01, 0.5), Param("adamw_lr", 1e-4, 1e-2), decay()),
    "soap": (one_minus("beta1", 0.01, 0.5), one_minus("beta2", 1e-3, 0.5), decay()),
    "prodigy": (one_minus("beta1", 0.01, 0.5), one_minus("beta2", 1e-4, 0.1), decay()),
    "schedulefree_adamw": ADAM_LIKE,
    "schedulefree_sgd": MOMENTUM,
}

# How a searched coefficient reaches the constructor: (argument, position in a tuple argument or None).
_ARGUMENT = {
    "one_minus_beta1": ("betas", 0), "one_minus_beta2": ("betas", 1),
    "one_minus_momentum": ("momentum", None), "one_minus_alpha": ("alpha", None), "one_minus_rho": ("rho", None),
}


def lr_param(grid: tuple[float, ...], default_lr: float) -> Param:
    """The lr range: LR_SPAN below and above the grid and the default together."""
    known = [*grid, default_lr]
    return Param("lr", min(known) / LR_SPAN, max(known) * LR_SPAN)


def search_space(name: str, grid: tuple[float, ...], default_lr: float,
                 declared: Mapping[str, Any] | None = None) -> tuple[Param, ...]:
    """The lr first, then the rest: a registry entry's, a plug-in's `optlab_search_space`, or the lr alone."""
    if declared is not None:
        return declared_space(name, declared)
    return (lr_param(grid, default_lr), *SPACES.get(name, ()))


def declared_space(name: str, declared: Any) -> tuple[Param, ...]:
    """A plug-in's `optlab_search_space = {"lr": (1e-4, 1e-1, "log"), "eps": (1e-8, 1e-6, "log")}`."""
    where = f"plug-in {name!r}: optlab_search_space"
    if not isinstance(declared, Mapping) or "lr" not in declared:
        raise OptlabError(f"{where} must map hyperparameter names to (LOW, HIGH[, 'log']), lr among them")
    params = []
    for param, bounds in declared.items():
        if not isinstance(bounds, (tuple, list)) or len(bounds) not in (2, 3) or (
                len(bounds) == 3 and bounds[2] not in ("log", "linear")):
            raise OptlabError(f"{where}[{param!r}] must be (LOW, HIGH) or (LOW, HIGH, 'log'), got {bounds!r}")
        low, high = (_number(bound, f"{where}[{param!r}]") for bound in bounds[:2])
        params.append(Param(str(param), low, high, log=len(bounds) == 3 and bounds[2] == "log"))
    lr = next(param for param in params if param.name == "lr")
    return (lr, *(param for param in params if param.name != "lr"))


def _number(text: Any, where: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise OptlabError(f"{where}: {text!r} is not a number") from None
    if isinstance(text, bool) or not math.isfinite(value):
        raise OptlabError(f"{where}: {text!r} is not a finite number")
    return value


def override(spaces: Mapping[str, tuple[Param, ...]], text: str) -> dict[str, tuple[Param, ...]]:
    """`--search-space NAME.PARAM=LOW:HIGH[:log]`: one range replaced (or added), every other kept."""
    form = "NAME.PARAM=LOW:HIGH[:log], e.g. adam.lr=1e-4:1e-2:log"
    target, equals, bounds = text.partition("=")
    name, dot, param = target.rpartition(".")
    parts = bounds.split(":")
    if not (equals and dot and name and param) or len(parts) not in (2, 3) or (len(parts) == 3 and
                                                                            parts[2] not in ("log", "linear")):
        raise OptlabError(f"--search-space {text!r}: expected {form}")
    if name not in spaces:
        raise OptlabError(f"--search-space {text!r}: {name!r} is not in --optimizers ({', '.join(spaces)})")
    low, high = (_number(part, f"--search-space {text}") for part in parts[:2])
    current = {existing.name: existing for existing in spaces[name]}
    scale = parts[2] == "log" if len(parts) == 3 else current[param].log if param in current else True
    base = current.get(param, Param(param, low, high, scale))
    zero_below = base.zero_below if base.zero_below is not None and base.zero_below > low else None
    current[param] = replace(base, low=low, high=high, log=scale, zero_below=zero_below)
    return {**spaces, name: tuple(current.values())}


def optimizer_arguments(point: Mapping[str, float], space: tuple[Param, ...],
                        defaults: Mapping[str, Any]) -> tuple[float, dict[str, Any]]:
    """(lr, keyword arguments) of one run at a sampled point; `defaults` gives a tuple's other entries (betas)."""
    params = {param.name: param for param in space}
    lr = params["lr"].value(point["lr"])
    arguments: dict[str, Any] = {}
    for name, sampled in point.items():
        if name == "lr":
            continue
        value = params[name].value(sampled)
        argument, position = _ARGUMENT.get(name, (name, None))
        if name.startswith("one_minus_"):
            value = 1.0 - value
        if position is None:
            arguments[argument] = value
        else:
            entries = list(arguments.get(argument, defaults[argument]))
            entries[position] = value
            arguments[argument] = tuple(entries)
    return lr, arguments


def constructor_defaults(name: str) -> dict[str, Any]:
    """The arguments a run of the named optimizer gets when none is given (the registry's reading)."""
    from optlab.optimizers.registry import default_arguments

    return default_arguments(name)


def space_for(name: str) -> tuple[Param, ...]:
    """The search space of a registry entry or plug-in (a plug-in without a declared one: its lr alone)."""
    from optlab.optimizers.plugins import is_plugin
    from optlab.optimizers.registry import optimizer_spec

    spec = optimizer_spec(name)
    declared = getattr(spec.cls, "optlab_search_space", None) if is_plugin(name) else None
    return search_space(name, spec.lr_grid, spec.lr, declared)
