"""The optimizers optlab knows by name: each entry is where its code lives and the defaults that make it the method
its name promises; a plug-in (`pkg.module:Name`, `path/to/file.py:Name`, see plugins.py) is read into an entry too.

Entries name their code as "module:attribute" and are imported on first use, so a sweep that does not use a
third-party optimizer never imports its package.
"""

import difflib
import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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
    return OptimizerSpec(target=target, summary=f"plug-in {name}", family=family,
                         lr_grid=tuple(float(lr) for lr in grid), default_lr=default_lr)


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
