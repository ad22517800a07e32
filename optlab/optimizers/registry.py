"""String-keyed optimizer registry: a name is a scalar hyperparameter that survives checkpoints."""

import inspect
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import optim

from optlab.errors import OptlabError


@dataclass(frozen=True)
class OptimizerSpec:
    """A torch.optim class plus the defaults that make it the method the name promises."""

    cls: type[optim.Optimizer]
    defaults: dict[str, Any] = field(default_factory=dict)
    summary: str = ""


OPTIMIZERS: dict[str, OptimizerSpec] = {
    "sgd": OptimizerSpec(optim.SGD, {}, "plain mini-batch SGD"),
    "momentum": OptimizerSpec(optim.SGD, {"momentum": 0.9}, "SGD with heavy-ball momentum 0.9"),
    "nesterov": OptimizerSpec(
        optim.SGD, {"momentum": 0.9, "nesterov": True}, "SGD with Nesterov momentum 0.9 (NAG)"
    ),
    "adam": OptimizerSpec(optim.Adam, {}, "Adam (Kingma & Ba, 2015)"),
    "rmsprop": OptimizerSpec(optim.RMSprop, {}, "RMSprop (Hinton, 2012)"),
    "adamw": OptimizerSpec(optim.AdamW, {}, "Adam with decoupled weight decay"),
    "adagrad": OptimizerSpec(optim.Adagrad, {}, "Adagrad (Duchi et al., 2011)"),
    "adadelta": OptimizerSpec(optim.Adadelta, {}, "Adadelta (Zeiler, 2012)"),
    "adamax": OptimizerSpec(optim.Adamax, {}, "Adamax (infinity-norm Adam)"),
    "nadam": OptimizerSpec(optim.NAdam, {}, "Adam with Nesterov momentum"),
    "radam": OptimizerSpec(optim.RAdam, {}, "rectified Adam"),
}

# Arguments optlab sets itself; a user passing them would be silently overridden.
_RESERVED = {"params", "lr"}


def optimizer_spec(name: str) -> OptimizerSpec:
    """The registry entry for name, or an error that lists the valid names."""
    try:
        return OPTIMIZERS[name]
    except KeyError:
        raise OptlabError(
            f"unknown optimizer {name!r}; choose from: {', '.join(OPTIMIZERS)}"
        ) from None


def accepted_arguments(name: str) -> list[str]:
    """Keyword arguments the named optimizer's constructor takes, besides params and lr."""
    signature = inspect.signature(optimizer_spec(name).cls.__init__)
    return [p for p in signature.parameters if p not in _RESERVED | {"self"}]


def check_optimizer_args(name: str, lr: float, kwargs: dict[str, Any] | None = None) -> None:
    """Fail at once, before any training, on a bad name, lr or keyword argument."""
    optimizer_spec(name)
    if not isinstance(lr, (int, float)) or not lr > 0 or lr != lr:
        raise OptlabError(f"learning rate must be a number > 0, got {lr!r}")
    accepted = accepted_arguments(name)
    for key in kwargs or {}:
        if key not in accepted:
            raise OptlabError(
                f"optimizer {name!r} takes no argument {key!r}; it takes: {', '.join(accepted)}"
            )
    # Let torch validate values (betas out of range, negative weight decay...) on a dummy tensor.
    build_optimizer(name, [torch.zeros(1, requires_grad=True)], lr, kwargs)


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
    try:
        return spec.cls(params, lr=lr, **arguments)
    except (TypeError, ValueError) as error:
        raise OptlabError(f"optimizer {name!r} rejected {arguments or 'its defaults'}: {error}") from None


def optimizer_state_bytes(optimizer: optim.Optimizer) -> int:
    """Bytes held in the optimizer's per-parameter state (momentum buffers, moment estimates)."""
    total = 0
    for state in optimizer.state.values():
        for value in state.values():
            if torch.is_tensor(value):
                total += value.numel() * value.element_size()
    return total
