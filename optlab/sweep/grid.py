"""A grid per optimizer: its own learning rates (`--lrs auto`, `--lrs adam=1e-4,3e-4`) and its own arguments
(`--optimizer-args adam.betas=0.9,0.99`), resolved to plain numbers and dicts before any run."""

from collections.abc import Mapping, Sequence
from typing import Any

from optlab.errors import OptlabError
from optlab.optimizers.registry import accepted_arguments, accepts_argument, check_lr, optimizer_spec

LR_KEYWORDS = ("auto", "default")  # each optimizer's own lr_grid / its default lr
DEFAULT_LRS = [1e-3]
LrChoice = list[float] | str


def _lr_number(text: Any, where: str) -> float:
    try:
        if isinstance(text, bool):
            raise TypeError(text)
        value = float(text)
    except (TypeError, ValueError, OverflowError):
        raise OptlabError(f"{where}: {text!r} is not a number; give numbers like 1e-3, or auto or default") from None
    try:
        check_lr(value)
    except OptlabError as error:
        raise OptlabError(f"{where}: {error}") from None
    return value


def lr_choice(values: Any, where: str) -> LrChoice:
    """'auto', 'default', or a list of lrs, from a flag's text ('1e-4,3e-4') or a config file's value."""
    if isinstance(values, str):
        if values.strip() in LR_KEYWORDS:
            return values.strip()
        values = [part for part in values.split(",") if part.strip()]
    if not isinstance(values, (list, tuple)):
        values = [values]
    if not values:
        raise OptlabError(f"{where}: needs at least one learning rate")
    return [_lr_number(value, where) for value in values]


def parse_lr_tokens(tokens: Any) -> tuple[LrChoice | None, dict[str, LrChoice]]:
    """--lrs tokens to (the choice for every optimizer, or None; the choices of named optimizers).

    `1e-3 1e-2` (a list for all), `auto`, `default`, `NAME=1e-4,3e-4`, `NAME=auto`, mixed freely: a named
    optimizer takes its own, every other one the unqualified choice.
    """
    if isinstance(tokens, (str, int, float)):
        tokens = [tokens]
    if not isinstance(tokens, (list, tuple, dict)):
        raise OptlabError(f"--lrs takes numbers, auto, default or NAME=LR,LR,...; got {tokens!r}")
    if isinstance(tokens, dict):  # a config file's mapping form: {adam: [1e-4, 3e-4], all: auto}
        own = {str(name): lr_choice(value, f"lrs of {name}") for name, value in tokens.items() if name != "all"}
        return (lr_choice(tokens["all"], "lrs of all") if "all" in tokens else None), own
    shared: list[float] | str | None = None
    own: dict[str, LrChoice] = {}
    for token in map(str, tokens):
        if "=" in token:
            name, _, values = token.partition("=")
            if name in own:
                raise OptlabError(f"--lrs gives {name!r} twice; give each optimizer one list (NAME=LR,LR,...)")
            own[name] = lr_choice(values, f"--lrs {token}")
        elif token in LR_KEYWORDS or isinstance(shared, str):
            if shared is not None:
                raise OptlabError("--lrs takes one choice for all optimizers: numbers, auto or default; "
                                  f"{token!r} conflicts with the one before it")
            shared = token
        else:
            shared = [*(shared or []), _lr_number(token, "--lrs")]
    return shared, own


def resolve_lr_grids(optimizers: list[str], shared: LrChoice | None,
                     own: dict[str, LrChoice]) -> tuple[list[float], dict[str, list[float]]]:
    """(the plain list every optimizer without its own grid runs, {optimizer: its own grid}), all numbers."""
    for name in own:
        if name not in optimizers:
            raise OptlabError(f"--lrs gives lrs for {name!r}, which is not in --optimizers ({', '.join(optimizers)})")
    plain = shared if isinstance(shared, list) else (DEFAULT_LRS if shared is None else [])
    grids: dict[str, list[float]] = {}
    for name in optimizers:
        choice = own.get(name, shared if shared is not None else plain)
        if choice == "auto":
            grid = list(optimizer_spec(name).lr_grid)
            if not grid:
                raise OptlabError(f"optimizer {name!r} declares no lr grid for --lrs auto (a plug-in may set "
                                  f"optlab_lr_grid); give one: --lrs '{name}=1e-3,3e-3,1e-2'")
        elif choice == "default":
            grid = [optimizer_spec(name).lr]
        else:
            grid = list(choice)
        if len(set(grid)) != len(grid):
            raise OptlabError(f"the lrs of {name!r} repeat a value: {grid}")
        if name in own or shared in LR_KEYWORDS:
            grids[name] = grid
    return list(plain), grids


def split_arguments(kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """{'weight_decay': .., 'adam.betas': ..} to ({'weight_decay': ..}, {'adam': {'betas': ..}}).

    Argument names never hold a dot, so the last dot separates a qualifying optimizer name (which may hold
    dots itself: `my_pkg.opt:MyOpt.eps`) from the argument.
    """
    shared: dict[str, Any] = {}
    own: dict[str, dict[str, Any]] = {}
    for key, value in kwargs.items():
        name, dot, argument = key.rpartition(".")
        if dot:
            own.setdefault(name, {})[argument] = value
        else:
            shared[key] = value
    return shared, own


def arguments_for(name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The arguments name's runs get: the unqualified ones it accepts, then its own."""
    shared, own = split_arguments(kwargs)
    return {**{key: value for key, value in shared.items() if accepts_argument(name, key)}, **own.get(name, {})}


def check_arguments(optimizers: list[str], kwargs: dict[str, Any]) -> None:
    """Every qualified argument names an optimizer of the sweep; every unqualified one is taken by at least one."""
    shared, own = split_arguments(kwargs)
    for name in own:
        if name not in optimizers:
            raise OptlabError(f"--optimizer-args qualifies {name!r}, which is not in --optimizers "
                              f"({', '.join(optimizers)})")
    for key in shared:
        if not any(accepts_argument(name, key) for name in optimizers):
            if len(optimizers) == 1:
                raise OptlabError(f"optimizer {optimizers[0]!r} takes no argument {key!r}; it takes: "
                                  f"{', '.join(accepted_arguments(optimizers[0]))}")
            raise OptlabError(f"no optimizer of this sweep takes argument {key!r}; check its spelling, or "
                              "qualify it with the optimizer it is for (NAME.KEY=VALUE)")




def off_scale_lrs(optimizers: Sequence[str], plain: Sequence[float] | str,
                  own: Mapping[str, Sequence[float]]) -> str | None:
    """One line naming the optimizers that run the shared lrs although their own default lr is 100× or more away
    (Prodigy's and D-Adaptation's lr multiplies an estimated step; Schedule-Free SGD and Adadelta default to 1)."""
    if not plain or isinstance(plain, str):  # auto or default (not yet resolved): each optimizer's own scale
        return None
    far = {name: optimizer_spec(name).lr for name in optimizers if name not in own}
    far = {name: lr for name, lr in far.items() if lr >= 100 * max(plain) or lr <= min(plain) / 100}
    if not far:
        return None
    defaults = ", ".join(f"{name} (default lr {lr:g})" for name, lr in far.items())
    shared = ", ".join(f"{lr:g}" for lr in plain)
    return (f"warning: {defaults} run the shared lr {shared}, 100x or more from their own default (a multiplier or "
            f"another scale); --lrs default runs each optimizer at its own default, --lrs auto on its own grid")
