"""Learning-rate schedules chosen by name, sized from the Trainer's real number of steps."""

from torch import optim
from torch.optim import lr_scheduler

from optlab.errors import OptlabError

SCHEDULES = ("none", "cosine", "step")


def check_schedule(name: str, warmup_epochs: float) -> None:
    """Fail early on an unknown schedule name or a negative warmup."""
    if name not in SCHEDULES:
        raise OptlabError(f"unknown schedule {name!r}; choose from: {', '.join(SCHEDULES)}")
    if warmup_epochs < 0:
        raise OptlabError(f"--warmup-epochs must be >= 0, got {warmup_epochs}")


def build_schedule(
    name: str, optimizer: optim.Optimizer, total_steps: int, warmup_steps: int = 0
) -> lr_scheduler.LRScheduler | None:
    """A per-step scheduler: optional linear warmup, then constant, cosine to 0, or ÷10 at 50% and 75%."""
    check_schedule(name, warmup_steps)
    warmup_steps = min(warmup_steps, max(total_steps - 1, 0))
    main_steps = max(total_steps - warmup_steps, 1)
    if name == "cosine":
        main = lr_scheduler.CosineAnnealingLR(optimizer, T_max=main_steps)
    elif name == "step":
        milestones = [main_steps // 2, (3 * main_steps) // 4]
        main = lr_scheduler.MultiStepLR(optimizer, milestones=milestones, gamma=0.1)
    elif warmup_steps:
        main = lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)
    else:
        return None
    if not warmup_steps:
        return main
    # Step k of the warmup trains at (k + 1) / warmup_steps of the lr, reaching it on the last warmup step.
    warmup = lr_scheduler.LinearLR(optimizer, start_factor=1.0 / warmup_steps, total_iters=max(warmup_steps - 1, 1))
    return lr_scheduler.SequentialLR(optimizer, [warmup, main], milestones=[warmup_steps])
