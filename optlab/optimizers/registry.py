"""String-keyed optimizer registry: a name is a scalar hyperparameter that survives checkpoints.

One door to the optimizers for the rest of optlab; the work lives in specs.py (the entries and plug-ins),
arguments.py (what each takes), building.py (an optimizer on parameters) and checking.py (before training).
"""

from optlab.optimizers.arguments import (
    accepted_arguments,
    accepts_argument,
    check_lr,
    default_arguments,
    flag_text,
)
from optlab.optimizers.building import (
    IDENTICAL_FASTER_ON_CPU,
    build_optimizer,
    implementation_arguments,
    optimizer_state_bytes,
)
from optlab.optimizers.checking import check_optimizer_args
from optlab.optimizers.specs import ADAM_GRID, OPTIMIZERS, OptimizerSpec, optimizer_family, optimizer_spec

__all__ = [
    "ADAM_GRID", "IDENTICAL_FASTER_ON_CPU", "OPTIMIZERS", "OptimizerSpec", "accepted_arguments", "accepts_argument",
    "build_optimizer", "check_lr", "check_optimizer_args", "default_arguments", "flag_text",
    "implementation_arguments", "optimizer_family", "optimizer_spec", "optimizer_state_bytes",
]
