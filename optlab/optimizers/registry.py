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
    "sgd": OptimizerSpec("torch.optim:SGD", {}, "plain mini-batch SGD", "sgd", (0.01, 0.03, 0.1, 0.3)),
    "momentum": OptimizerSpec("torch.optim:SGD", {"momentum": 0.9}, "SGD with heavy-ball momentum 0.9", "sgd",
                              (3e-3, 0.01, 0.03, 0.1)),
    "nesterov": OptimizerSpec("torch.optim:SGD", {"momentum": 0.9, "nesterov": True},
                              "SGD with Nesterov momentum 0.9 (NAG)", "sgd", (3e-3, 0.01, 0.03, 0.1)),
    # Adaptive methods.
    "adam": OptimizerSpec("torch.optim:Adam", {}, "Adam (Kingma & Ba, 2015)", "adaptive", ADAM_GRID),
    "rmsprop": OptimizerSpec("torch.optim:RMSprop", {}, "RMSprop (Hinton, 2012)", "adaptive",
                             (3e-5, 1e-4, 3e-4, 1e-3)),
    "adamw": OptimizerSpec("torch.optim:AdamW", {}, "Adam with decoupled weight decay (Loshchilov & Hutter, 2019)",
                           "adaptive", ADAM_GRID),
    "adagrad": OptimizerSpec("torch.optim:Adagrad", {}, "Adagrad (Duchi et al., 2011)", "adaptive",
                             (3e-3, 0.01, 0.03, 0.1)),
    "adadelta": OptimizerSpec("torch.optim:Adadelta", {}, "Adadelta (Zeiler, 2012)", "adaptive",
                              (0.1, 0.3, 1.0, 3.0)),
    "adamax": OptimizerSpec("torch.optim:Adamax", {}, "Adamax (infinity-norm Adam)", "adaptive",
                            (3e-4, 1e-3, 3e-3, 0.01)),
    "nadam": OptimizerSpec("torch.optim:NAdam", {}, "Adam with Nesterov momentum (Dozat, 2016)", "adaptive",
                           ADAM_GRID),
    "radam": OptimizerSpec("torch.optim:RAdam", {}, "rectified Adam (Liu et al., 2020)", "adaptive", ADAM_GRID),
    "adafactor": OptimizerSpec("torch.optim:Adafactor", {}, "Adafactor, factored second moments (Shazeer & Stern, "
                               "2018)", "adaptive", (1e-3, 3e-3, 0.01, 0.03)),
    "lion": OptimizerSpec("pytorch_optimizer:Lion", {}, "Lion, sign of interpolated momentum (Chen et al., 2023)",
                          "adaptive", (3e-5, 1e-4, 3e-4, 1e-3), package="pytorch-optimizer"),
    "lamb": OptimizerSpec("pytorch_optimizer:Lamb", {}, "LAMB, layer-wise trust ratio on Adam (You et al., 2020)",
                          "adaptive", (3e-4, 1e-3, 3e-3, 0.01), package="pytorch-optimizer"),
    # Orthogonalized / second-order.
    "muon": OptimizerSpec("optlab.optimizers.muon:MuonWithAdamW", {},
                          "Muon on hidden weight matrices + AdamW on the rest (Jordan et al., 2024)",
                          "orthogonalized", (3e-3, 0.01, 0.03, 0.1)),
    "soap": OptimizerSpec("pytorch_optimizer:SOAP", {}, "SOAP, Adam in Shampoo's eigenbasis (Vyas et al., 2025)",
                          "orthogonalized", (3e-4, 1e-3, 3e-3, 0.01), package="pytorch-optimizer"),
    # Learning-rate free: lr multiplies the estimated step size.
    "prodigy": OptimizerSpec("prodigyopt:Prodigy", {}, "Prodigy, D-Adaptation with a faster estimate (Mishchenko "
                             "& Defazio, 2024)", "lr-free", (0.25, 0.5, 1.0, 2.0), package="prodigyopt"),
    # Schedule-free: evaluate at the averaged weights (optimizer.eval()), train at the interpolated ones.
    "schedulefree_adamw": OptimizerSpec("schedulefree:AdamWScheduleFree", {}, "Schedule-Free AdamW (Defazio et "
                                        "al., 2024)", "schedule-free", (3e-4, 1e-3, 3e-3, 0.01),
                                        package="schedulefree"),
    "schedulefree_sgd": OptimizerSpec("schedulefree:SGDScheduleFree", {}, "Schedule-Free SGD, momentum 0.9 "
                                      "(Defazio et al., 2024)", "schedule-free", (0.1, 0.3, 1.0, 3.0),
                                      package="schedulefree"),
}

# Arguments optlab sets itself; a user passing them would be silently overridden.
_RESERVED = {"self", "params", "lr"}


@functools.cache
def _plugin_spec(name: str) -> OptimizerSpec:
    target = load_plugin(name)
    family = check_family(getattr(target, "optlab_family", UNDECLARED), f"plug-in optimizer {name!r}")
    grid = tuple(float(lr) for lr in getattr(target, "optlab_lr_grid", ()))
    return OptimizerSpec(target, {}, f"plug-in {name}", family, grid, getattr(target, "optlab_default_lr", None))


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
    if not isinstance(lr, (int, float)) or isinstance(lr, bool) or not lr > 0 or lr != lr or lr == float("inf"):
        raise OptlabError(f"learning rate must be a number > 0, got {lr!r}")


def check_optimizer_args(name: str, lr: float, kwargs: dict[str, Any] | None = None) -> None:
    """Fail at once, before any training, on a bad name, lr or keyword argument."""
    optimizer_spec(name)
    check_lr(lr)
    for key in kwargs or {}:
        if not accepts_argument(name, key):
            raise OptlabError(
                f"optimizer {name!r} takes no argument {key!r}; it takes: {', '.join(accepted_arguments(name))}"
            )
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
        raise OptlabError(f"optimizer {name!r} rejected {arguments or 'its defaults'}: {first}") from None
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
