"""Time to the target val accuracy, in one place: the run side records it, the report averages it over seeds.

A run is checked at each validation (once per epoch, or every --val-every of an epoch), so the time is only as
fine as those checks; seeds that cross the target between the same two checks tie.
"""

from dataclasses import dataclass
from typing import Any

from optlab.report.stats import Spread, spread


def first_reached(checks: list[dict[str, Any]], target: float) -> dict[str, Any] | None:
    """The first validation whose accuracy reaches target: its epoch (fractional between epochs), step, seconds."""
    for check in checks:
        if check.get("val_acc") is not None and check["val_acc"] >= target:
            return {"epoch": check["epoch"], "step": check["step"], "seconds": check["train_seconds"]}
    return None


def validation_checks(run: dict[str, Any]) -> list[dict[str, Any]]:
    """Every validation of a run: the finer val_checks where recorded, else one per epoch."""
    return run.get("val_checks") or run.get("epochs") or []


def steps_per_epoch(runs: list[dict[str, Any]]) -> dict[int, int]:
    """Steps in one full epoch for each effective batch size, read from runs that finished their first epoch."""
    steps: dict[int, int] = {}
    for run in runs:
        if run.get("epochs") and not run.get("diverged"):
            size = run.get("effective_batch_size", run.get("batch_size"))
            steps[size] = max(steps.get(size, 0), run["epochs"][0]["step"])
    return steps


@dataclass(frozen=True)
class TargetTime:
    """Time to the target val accuracy over seeds; a seed that never reached it counts as the full budget."""

    steps: Spread
    seconds: Spread
    reached: int
    runs: int


def budget_steps(run: dict[str, Any], max_epochs: int, epoch_steps: dict[int, int]) -> int:
    """The planned step budget: all epochs, even for a run that stopped early when it diverged."""
    per_epoch = epoch_steps.get(run.get("effective_batch_size", run.get("batch_size")))
    if per_epoch is None:
        per_epoch = run["epochs"][0]["step"] if run.get("epochs") else max(run.get("steps", 0), 1)
    return max_epochs * per_epoch


def run_target_steps(run: dict[str, Any], max_epochs: int, epoch_steps: dict[int, int]) -> tuple[float, float | None]:
    """One run's steps and seconds to the target, DeepOBS-style: a miss counts as the budget (seconds at the
    run's own speed)."""
    reached = run.get("time_to_target")
    if reached:
        return reached["step"], reached["seconds"]
    budget = budget_steps(run, max_epochs, epoch_steps)
    return budget, run["train_seconds"] * budget / run["steps"] if run.get("steps") else None


def target_time(runs: tuple[dict[str, Any], ...], max_epochs: int, epoch_steps: dict[int, int]) -> TargetTime:
    """Mean over seeds, a miss counted as the budget."""
    pairs = [run_target_steps(run, max_epochs, epoch_steps) for run in runs]
    return TargetTime(spread(steps for steps, _ in pairs), spread(seconds for _, seconds in pairs),
                      sum(bool(run.get("time_to_target")) for run in runs), len(runs))
