"""An optimizer checked before any training: its name, lr and arguments, built once on a dummy layer."""

from typing import Any

import torch
from torch import optim

from optlab.errors import OptlabError
from optlab.optimizers.arguments import accepted_arguments, accepts_argument, check_lr, check_shape, default_arguments
from optlab.optimizers.building import build_optimizer
from optlab.optimizers.plugins import is_plugin
from optlab.optimizers.specs import optimizer_spec


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
    defaults = default_arguments(name)
    for key, value in kwargs.items():
        if key in defaults:
            check_shape(key, value, defaults[key], (given or {}).get(key, key))
    # Let the optimizer validate values (betas out of range, negative weight decay...) on a dummy layer:
    # a weight matrix and a bias, as every network has. The random state is restored after, so a plug-in that
    # draws numbers here cannot change the initial weights built next from the run's seed.
    with torch.random.fork_rng(devices=[]):
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
