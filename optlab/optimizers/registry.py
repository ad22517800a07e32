"""String-keyed optimizer registry: a name is a scalar hyperparameter that survives checkpoints.

A name is a registry entry (`adam`) or a plug-in (`pkg.module:Name`, `path/to/file.py:Name`, see plugins.py).
Entries name where their code lives as "module:attribute" and are imported on first use, so a sweep that
does not use a third-party optimizer never imports its package.
"""

import difflib
import functools
import importlib
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import optim

from optlab import checks
from optlab.errors import OptlabError
from optlab.optimizers.families import UNDECLARED, check_family
from optlab.optimizers.plugins import is_plugin, load_plugin, signature_default_lr

ADAM_GRID = (1e-4, 3e-4, 1e-3, 3e-3)


@dataclass(frozen=True)
class OptimizerSpec:
    """An optimizer class (or factory) plus the defaults that make it the method the name promises.

    lr_grid is the log-spaced range `--lrs auto` tries, around the lr that usually works for this kind of
    network; default_lr (else the signature's lr default) is what `--lrs default` runs.
    """

    target: str | Callable[..., optim.Optimizer]
    defaults: dict[str, Any] = field(default_factory=dict)
    summary: str = ""
    family: str = UNDECLARED
    lr_grid: tuple[float, ...] = ()
    default_lr: float | None = None
    package: str = ""  # the pip requirement that provides target, when it is not torch or optlab

    @property
    def cls(self) -> Callable[..., optim.Optimizer]:
        """The class or factory itself (imported now if named as a string)."""
        return _resolve(self.target, self.package) if isinstance(self.target, str) else self.target

    @property
    def lr(self) -> float:
        """The lr `--lrs default` uses."""
        if self.default_lr is not None:
            return self.default_lr
        default = signature_default_lr(self.cls)
        return default if default is not None else 1e-3


@functools.cache
def _resolve(target: str, package: str) -> Callable[..., optim.Optimizer]:
    module, _, attribute = target.partition(":")
    try:
        return getattr(importlib.import_module(module), attribute)
    except ModuleNotFoundError:
        raise OptlabError(f"optimizer {target} needs the package {package or module}: pip install "
                          f"{package or module}") from None


OPTIMIZERS: dict[str, OptimizerSpec] = {
    # The SGD family.
    "sgd": OptimizerSpec(target="torch.optim:SGD", summary="plain mini-batch SGD", family="sgd",
                         lr_grid=(0.01, 0.03, 0.1, 0.3)),
    "momentum": OptimizerSpec(target="torch.optim:SGD", defaults={"momentum": 0.9},
                              summary="SGD with heavy-ball momentum 0.9", family="sgd",
                              lr_grid=(0.003, 0.01, 0.03, 0.1)),
    "nesterov": OptimizerSpec(target="torch.optim:SGD", defaults={"momentum": 0.9, "nesterov": True},
                              summary="SGD with Nesterov momentum 0.9 (NAG)", family="sgd",
                              lr_grid=(0.003, 0.01, 0.03, 0.1)),
    # Adaptive methods.
    "adam": OptimizerSpec(target="torch.optim:Adam", summary="Adam (Kingma & Ba, 2015)", family="adaptive",
                          lr_grid=ADAM_GRID),
    "rmsprop": OptimizerSpec(target="torch.optim:RMSprop", summary="RMSprop (Hinton, 2012)", family="adaptive",
                             lr_grid=(3e-05, 0.0001, 0.0003, 0.001)),
    "adamw": OptimizerSpec(target="torch.optim:AdamW",
                           summary="Adam with decoupled weight decay (Loshchilov & Hutter, 2019)", family="adaptive",
                           lr_grid=ADAM_GRID),
    "adagrad": OptimizerSpec(target="torch.optim:Adagrad", summary="Adagrad (Duchi et al., 2011)", family="adaptive",
                             lr_grid=(0.003, 0.01, 0.03, 0.1)),
    "adadelta": OptimizerSpec(target="torch.optim:Adadelta", summary="Adadelta (Zeiler, 2012)", family="adaptive",
                              lr_grid=(0.1, 0.3, 1.0, 3.0)),
    "adamax": OptimizerSpec(target="torch.optim:Adamax", summary="Adamax (infinity-norm Adam)", family="adaptive",
                            lr_grid=(0.0003, 0.001, 0.003, 0.01)),
    "nadam": OptimizerSpec(target="torch.optim:NAdam", summary="Adam with Nesterov momentum (Dozat, 2016)",
                           family="adaptive", lr_grid=ADAM_GRID),
    "radam": OptimizerSpec(target="torch.optim:RAdam", summary="rectified Adam (Liu et al., 2020)", family="adaptive",
                           lr_grid=ADAM_GRID),
    "adafactor": OptimizerSpec(target="torch.optim:Adafactor",
                               summary="Adafactor, factored second moments (Shazeer & Stern, 2018)",
                               family="adaptive", lr_grid=(0.001, 0.003, 0.01, 0.03)),
    "lion": OptimizerSpec(target="pytorch_optimizer:Lion",
                          summary="Lion, sign of interpolated momentum (Chen et al., 2023)", family="adaptive",
                          lr_grid=(3e-05, 0.0001, 0.0003, 0.001), package="pytorch-optimizer"),
    "lamb": OptimizerSpec(target="pytorch_optimizer:Lamb",
                          summary="LAMB, layer-wise trust ratio on Adam (You et al., 2020)", family="adaptive",
                          lr_grid=(0.0003, 0.001, 0.003, 0.01), package="pytorch-optimizer"),
    # Orthogonalized / second-order.
    "muon": OptimizerSpec(target="optlab.optimizers.muon:MuonWithAdamW",
                          summary="Muon on hidden weight matrices + AdamW on the rest (Jordan et al., 2024)",
                          family="orthogonalized", lr_grid=(0.003, 0.01, 0.03, 0.1)),
    "soap": OptimizerSpec(target="pytorch_optimizer:SOAP",
                          summary="SOAP, Adam in Shampoo's eigenbasis (Vyas et al., 2025)", family="orthogonalized",
                          lr_grid=(0.0003, 0.001, 0.003, 0.01), package="pytorch-optimizer"),
    # Learning-rate free: lr multiplies the estimated step size.
    "prodigy": OptimizerSpec(target="prodigyopt:Prodigy",
                             summary="Prodigy, D-Adaptation with a faster estimate (Mishchenko & Defazio, 2024)",
                             family="lr-free", lr_grid=(0.25, 0.5, 1.0, 2.0), package="prodigyopt"),
    # Schedule-free: evaluate at the averaged weights (optimizer.eval()), train at the interpolated ones.
    "schedulefree_adamw": OptimizerSpec(target="schedulefree:AdamWScheduleFree",
                                        summary="Schedule-Free AdamW (Defazio et al., 2024)", family="schedule-free",
                                        lr_grid=(0.0003, 0.001, 0.003, 0.01), package="schedulefree"),
    "schedulefree_sgd": OptimizerSpec(target="schedulefree:SGDScheduleFree",
                                      summary="Schedule-Free SGD, momentum 0.9 (Defazio et al., 2024)",
                                      family="schedule-free", lr_grid=(0.1, 0.3, 1.0, 3.0), package="schedulefree"),
}

# Arguments optlab sets itself; a user passing them would be silently overridden.
_RESERVED = {"self", "params", "lr"}


@functools.cache
def _plugin_spec(name: str) -> OptimizerSpec:
    target = load_plugin(name)
    owner = f"plug-in optimizer {name!r}"
    family = check_family(getattr(target, "optlab_family", UNDECLARED), owner)
    grid = getattr(target, "optlab_lr_grid", ())
    if not isinstance(grid, (list, tuple)) or not all(checks.is_number(lr) and lr > 0 for lr in grid):
        raise OptlabError(f"{owner}: optlab_lr_grid must be a tuple of learning rates (finite numbers > 0, e.g. "
                          f"(1e-3, 3e-3)), got {checks.shown(grid)}; fix the attribute, or give --lrs "
                          f"'{name}=1e-3,3e-3'")
    default_lr = getattr(target, "optlab_default_lr", None)
    if default_lr is not None and not (checks.is_number(default_lr) and default_lr > 0):
        raise OptlabError(f"{owner}: optlab_default_lr must be a finite number > 0, got {checks.shown(default_lr)}; "
                          f"fix the attribute, or give --lrs '{name}=1e-3'")
    return OptimizerSpec(target, {}, f"plug-in {name}", family, tuple(float(lr) for lr in grid), default_lr)


def optimizer_spec(name: str) -> OptimizerSpec:
    """The registry entry (or loaded plug-in) for name, or an error that lists the valid names."""
    if is_plugin(name):
        return _plugin_spec(name)
    try:
        return OPTIMIZERS[name]
    except KeyError:
        close = difflib.get_close_matches(name, OPTIMIZERS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise OptlabError(
            f"unknown optimizer {name!r}{hint}; choose from: {', '.join(OPTIMIZERS)}, or a plug-in pkg.module:Name"
        ) from None


def optimizer_family(name: str, declared: dict[str, str] | None = None) -> str:
    """The family a run of name belongs to: as declared on the command line, else as the entry declares."""
    if declared and name in declared:
        return check_family(declared[name], f"--families for {name!r}")
    return optimizer_spec(name).family


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


def argument_defaults(name: str) -> dict[str, Any]:
    """The value each keyword argument has when not given: the registry entry's, else the signature's."""
    signature = {p.name: p.default for p in _signature(name).parameters.values()
                 if p.default is not inspect.Parameter.empty}
    return {**signature, **optimizer_spec(name).defaults}


def flag_text(value: Any) -> str:
    """A value as --optimizer-args spells it: 0.9,0.999 for a pair."""
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return str(value)


_COUNTS = {2: "two", 3: "three", 4: "four"}


def _check_shape(key: str, value: Any, default: Any, spelled: str) -> None:
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


def check_optimizer_args(name: str, lr: float, kwargs: dict[str, Any] | None = None,
                         given: dict[str, str] | None = None) -> None:
    """Fail at once, before any training, on a bad name, lr or keyword argument.

    given maps an argument to the KEY as the user wrote it (adam.betas or betas), for the messages.
    """
    optimizer_spec(name)
    check_lr(lr)
    kwargs = kwargs or {}
    for key in kwargs:
        if not accepts_argument(name, key):
            raise OptlabError(
                f"optimizer {name!r} takes no argument {key!r}; it takes: {', '.join(accepted_arguments(name))}"
            )
    defaults = argument_defaults(name)
    for key, value in kwargs.items():
        if key in defaults:
            _check_shape(key, value, defaults[key], (given or {}).get(key, key))
    # Let the optimizer validate values (betas out of range, negative weight decay...) on a dummy layer:
    # a weight matrix and a bias, as every network has.
    params = [torch.zeros(2, 2, requires_grad=True), torch.zeros(2, requires_grad=True)]
    optimizer = build_optimizer(name, params, lr, kwargs)
    if is_plugin(name):
        _check_step_calls_closure(name, optimizer, params)


def _check_step_calls_closure(name: str, optimizer: optim.Optimizer, params: list[torch.Tensor]) -> None:
    """Lightning passes step() a closure that runs forward and backward; an optimizer that ignores it never learns."""
    called = []

    def closure() -> torch.Tensor:
        called.append(True)
        for param in params:
            param.grad = torch.ones_like(param)
        return torch.zeros(())

    if callable(getattr(optimizer, "train", None)):
        optimizer.train()
    try:
        optimizer.step(closure)
    except Exception as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise OptlabError(f"plug-in optimizer {name!r} failed a step on a dummy layer: {first}") from None
    if not called:
        raise OptlabError(f"plug-in optimizer {name!r}: step(closure) must call closure() when given one, as "
                          "torch.optim's optimizers do (Lightning computes the loss and gradients in it)")


# Faster implementations whose results on CPU equal torch's default bit for bit (a test checks every
# entry). On CUDA torch already picks its multi-tensor path, so these apply to CPU parameters only.
IDENTICAL_FASTER_ON_CPU: dict[str, dict[str, bool]] = {
    "sgd": {"fused": True}, "momentum": {"fused": True}, "nesterov": {"fused": True},
    "adam": {"foreach": True}, "adamw": {"foreach": True}, "rmsprop": {"foreach": True},
    "adadelta": {"foreach": True}, "adamax": {"foreach": True},
}
_IMPLEMENTATION = {"fused", "foreach"}


def implementation_arguments(name: str, params: list[torch.Tensor], fused: bool,
                             kwargs: dict[str, Any]) -> dict[str, Any]:
    """Which torch implementation to ask for, unless the user chose one in kwargs.

    fused=True asks for torch's fused kernels wherever the optimizer has them: faster, but for
    Adam-type methods not bit-identical to the default, so it is an opt-in speed option.
    """
    if _IMPLEMENTATION & set(kwargs):
        return {}
    if fused and "fused" in accepted_arguments(name):
        return {"fused": True}
    if params and all(p.device.type == "cpu" for p in params):
        return dict(IDENTICAL_FASTER_ON_CPU.get(name, {}))
    return {}


def build_optimizer(
    name: str,
    params: Iterable[torch.Tensor],
    lr: float,
    kwargs: dict[str, Any] | None = None,
    fused: bool = False,
) -> optim.Optimizer:
    """Instantiate the named optimizer on params; user kwargs override the registry defaults."""
    spec = optimizer_spec(name)
    params = list(params)
    kwargs = kwargs or {}
    arguments = {**spec.defaults, **implementation_arguments(name, params, fused, kwargs), **kwargs}
    target = spec.cls
    try:
        optimizer = target(params, lr=lr, **arguments)
    except Exception as error:  # constructors raise TypeError, ValueError or their own kinds
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        user = " ".join(f"{key}={flag_text(value)}" for key, value in kwargs.items())  # what the user gave
        raise OptlabError(f"optimizer {name!r} rejected {user or 'its defaults'}: {first}") from None
    if not isinstance(optimizer, optim.Optimizer):
        raise OptlabError(f"plug-in optimizer {name!r} returned {type(optimizer).__name__}, not a "
                          "torch.optim.Optimizer")
    return optimizer


def _tensor_bytes(value: Any) -> int:
    if torch.is_tensor(value):
        return value.numel() * value.element_size()
    if isinstance(value, (list, tuple)):
        return sum(_tensor_bytes(item) for item in value)
    if isinstance(value, dict):
        return sum(_tensor_bytes(item) for item in value.values())
    return 0


def optimizer_state_bytes(optimizer: optim.Optimizer) -> int:
    """Bytes held in the optimizer's per-parameter state (momentum buffers, moments, SOAP's eigenbases...)."""
    return sum(_tensor_bytes(state) for state in optimizer.state.values())
