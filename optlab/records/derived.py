"""What a run's figures are, derived from its raw history alone: the runner writes them once, the report reads them.

Torch-free, so the report and the tests read the same rules the run wrote by.
"""

import math
import statistics
from typing import Any

from optlab.records.run_result import RunResult, TargetCrossing, TargetReached

SPIKE_WINDOW = 50
CURVE_POINTS = 400


def loss_spikes(losses: list[float], window: int = SPIKE_WINDOW) -> int:
    """Steps whose loss exceeds twice the mean of the `window` steps before it."""
    spikes, running = 0, 0.0
    for index, loss in enumerate(losses):
        if index >= window and math.isfinite(loss) and loss > 2 * running / window:
            spikes += 1
        running += loss if math.isfinite(loss) else 0.0
        if index >= window:
            previous = losses[index - window]
            running -= previous if math.isfinite(previous) else 0.0
    return spikes


def downsample(losses: list[float], points: int = CURVE_POINTS) -> list[list[float]]:
    """[step, mean loss] over equal windows, so a results file stays small for any run length."""
    if not losses:
        return []
    width = max(1, math.ceil(len(losses) / points))
    curve = []
    for start in range(0, len(losses), width):
        chunk = [loss for loss in losses[start:start + width] if math.isfinite(loss)]
        if chunk:
            curve.append([start + len(losses[start:start + width]), sum(chunk) / len(chunk)])
    return curve


def summarize(epochs: list[dict], step_losses: list[float], target_acc: float,
              val_checks: list[dict] | None = None) -> dict[str, Any]:
    """Convergence, generalization-free stability and speed figures derivable from the history alone."""
    val = [(r["epoch"], r["val_acc"]) for r in epochs if r.get("val_acc") is not None]
    best_epoch, best_val = max(val, key=lambda item: item[1]) if val else (None, None)
    last_epoch_losses = step_losses[epochs[-2]["step"] if len(epochs) > 1 else 0:]
    finite = [loss for loss in last_epoch_losses if math.isfinite(loss)]
    return {
        "epochs_run": len(epochs),
        "steps": len(step_losses),
        "final_val_acc": val[-1][1] if val else None,
        "best_val_acc": best_val,
        "best_val_epoch": best_epoch,
        "running_train_acc_last_epoch": epochs[-1].get("train_acc") if epochs else None,
        "final_train_loss": epochs[-1].get("train_loss") if epochs else None,
        "time_to_target": first_reached(val_checks or epochs, target_acc),
        "time_to_target_interpolated": crossing(val_checks or epochs, target_acc),
        "loss_std_last_epoch": statistics.pstdev(finite) if len(finite) > 1 else None,
        "loss_spikes": loss_spikes(step_losses),
        "train_loss_curve": downsample(step_losses),
    }


def first_reached(checks: list[dict[str, Any]], target: float) -> dict[str, Any] | None:
    """The first validation whose accuracy reaches target: its epoch (fractional between epochs), step, seconds."""
    for check in checks:
        if check.get("val_acc") is not None and check["val_acc"] >= target:
            return {"epoch": check["epoch"], "step": check["step"], "seconds": check.get("train_seconds")}
    return None


FIELDS = {"epoch": "epoch", "step": "step", "seconds": "train_seconds"}  # a crossing's keys, read from a check


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def crossing(checks: list[dict[str, Any]], target: float) -> dict[str, float] | None:
    """Where the validation curve first crosses target: epoch, step and seconds interpolated linearly between the
    first check that reached it and the check before it; the first check itself when it is the first validation
    (nothing earlier to interpolate from). None when no check reached it."""
    previous = None
    for check in checks:
        acc = check.get("val_acc")
        if acc is not None and acc >= target:
            at = {key: _number(check.get(field)) for key, field in FIELDS.items()}
            if previous is None:
                return at
            # previous is below the target (else it would have been first), so the denominator is positive
            share = (target - previous["val_acc"]) / (acc - previous["val_acc"])
            before = {key: _number(previous.get(field)) for key, field in FIELDS.items()}
            return {key: None if at[key] is None or before[key] is None
                    else before[key] + share * (at[key] - before[key]) for key in at}
        previous = check if acc is not None else previous
    return None


def reached_at(run: RunResult, target: float | None = None) -> TargetCrossing | TargetReached | None:
    """Where a run's validation curve crossed the target: as recorded; for results made before the crossing was
    recorded, computed from the run's checks when the target is given (a result does not hold the sweep's target,
    so this cannot be one of RunResult's `legacy` defaults), else its first check at the target."""
    if run.time_to_target is None:
        return None
    if run.time_to_target_interpolated is not None:
        return run.time_to_target_interpolated
    if target is not None:
        checks = [check.to_json() for check in run.validations]
        first = first_reached(checks, target)
        # Only when the checks agree with the recorded first check (the same target, the same curve).
        if first is not None and first["step"] == run.time_to_target.step:
            return TargetCrossing.from_json(crossing(checks, target))
    return run.time_to_target
