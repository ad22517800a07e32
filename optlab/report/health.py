"""Runs that did not diverge by the sweep's rule yet ended far worse than they began.

The divergence rule (a non-finite loss, or one above --max-loss) and the spike count (a step above twice the mean
of the 50 before) both miss a short run whose loss climbs steadily: RMSprop at lr 0.01 can end a 20-step run at
loss 873 without one of them firing. This rule reads the recorded loss curve and epochs, so it applies to
results made before it too.
"""

import math

from optlab.records.run_result import RunResult

ROSE_FACTOR = 2.0  # final loss above this multiple of the first steps' loss
EPOCH_MARGIN = 1.1  # or last epoch's mean loss above this multiple of the first epoch's
FIRST_POINTS = 3  # the first steps: the mean of the curve's first windows


def loss_rise(run: RunResult) -> tuple[float, float] | None:
    """(start, end) losses when a run that did not diverge ended far above where it started; None otherwise."""
    if run.diverged:
        return None
    curve = [point[1] for point in run.train_loss_curve if math.isfinite(point[1])]
    epochs = [record.train_loss for record in run.epochs]
    epochs = [loss for loss in epochs if loss is not None and math.isfinite(loss)]
    if len(curve) > FIRST_POINTS:
        start = sum(curve[:FIRST_POINTS]) / FIRST_POINTS
        if curve[-1] > ROSE_FACTOR * start:
            return start, curve[-1]
    if len(epochs) >= 2 and epochs[-1] > EPOCH_MARGIN * epochs[0]:
        return epochs[0], epochs[-1]
    return None


def rule_text() -> str:
    return (f"the final training loss is above {ROSE_FACTOR:g}× the mean of its first {FIRST_POINTS} recorded "
            f"loss points, or its last epoch's mean loss is above {EPOCH_MARGIN:g}× its first epoch's")
