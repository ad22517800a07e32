"""An optimizer built on a network's parameters, with the fastest implementation that changes no result, and
the bytes its state holds."""

from collections.abc import Iterable
from typing import Any

import torch
from torch import optim

from optlab.errors import OptlabError
from optlab.optimizers.arguments import accepted_arguments, flag_text
from optlab.optimizers.specs import optimizer_spec

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
