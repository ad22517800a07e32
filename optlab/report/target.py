"""Time to the target val accuracy, in one place: the run side records it, the report compares it over seeds.

A run is checked at each validation (once per epoch, or every --val-every of an epoch). The recorded
`time_to_target` is the first check that reached the target; `crossing` also places the crossing between that
check and the one before it (below the target) by linear interpolation of the validation curve, so seeds that
cross between the same two checks no longer tie. The curve between two checks is still unseen, so a comparison
keeps the sd of its paired differences floored at interval/√6 (see stats.Paired).

A seed that never reaches the target is censored: its time is only known to exceed the budget. A comparison of
times with a censored seed (`times_saved`) counts it at the budget and uses an exact paired sign-flip permutation
test, valid under no difference whatever the censoring (min(time, budget) of two exchangeable times stays
exchangeable), and never a t-interval. With n paired seeds such a test cannot give a two-sided p below 2/2ⁿ, so a
censored comparison needs at least 6 seeds to be decided at 5%.
"""

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from optlab.records.derived import reached_at
from optlab.records.run_result import RunResult
from optlab.report.stats import LEVEL, MIN_SEEDS, Paired, Spread, spread, t_quantile

if TYPE_CHECKING:  # the run side imports this module; the sweep record is the report's
    from optlab.report.sweep_record import SweepRecord

PERMUTATIONS = 9999  # exact (every sign pattern) up to 13 seeds; a seeded random subset beyond


def steps_per_epoch(runs: list[RunResult]) -> dict[int, int]:
    """Steps in one full epoch for each effective batch size, read from runs that finished their first epoch."""
    steps: dict[int, int] = {}
    for run in runs:
        if run.first_epoch_steps is not None and not run.diverged:
            size = run.effective_batch_size
            steps[size] = max(steps.get(size, 0), run.first_epoch_steps)
    return steps


@dataclass(frozen=True)
class TargetTime:
    """Time to the target val accuracy over seeds; a seed that never reached it counts as the full budget."""

    steps: Spread
    seconds: Spread
    reached: int
    runs: int


def budget_steps(run: RunResult, max_epochs: int, epoch_steps: dict[int, int]) -> int:
    """The planned step budget: all epochs, even for a run that stopped early when it diverged."""
    per_epoch = epoch_steps.get(run.effective_batch_size)
    if per_epoch is None:
        per_epoch = run.first_epoch_steps if run.first_epoch_steps is not None else max(run.steps, 1)
    return max_epochs * per_epoch


def run_target_steps(run: RunResult, max_epochs: int, epoch_steps: dict[int, int],
                     target: float | None = None) -> tuple[float, float | None]:
    """One run's steps and seconds to the target, interpolated between checks; a miss counts as the budget
    (seconds at the run's own speed), DeepOBS-style."""
    reached = reached_at(run, target)
    if reached is not None:
        return reached.step, reached.seconds
    budget = budget_steps(run, max_epochs, epoch_steps)
    return budget, run.train_seconds * budget / run.steps if run.steps else None


def target_time(runs: tuple[RunResult, ...], max_epochs: int, epoch_steps: dict[int, int]) -> TargetTime:
    """Mean over seeds, a miss counted as the budget."""
    pairs = [run_target_steps(run, max_epochs, epoch_steps) for run in runs]
    return TargetTime(spread(steps for steps, _ in pairs), spread(seconds for _, seconds in pairs),
                      sum(run.reached for run in runs), len(runs))


def check_interval(runs: list[RunResult], epoch_steps: dict[int, int]) -> float:
    """The coarsest step interval between validations among these runs (the unseen stretch of a curve)."""
    widest = 0.0
    for run in runs:
        per_epoch = epoch_steps.get(run.effective_batch_size)
        if per_epoch:
            widest = max(widest, per_epoch * float(run.val_every or 1.0))
    return widest


def finest_decidable_lead(interval: float, seeds: int, level: float = LEVEL) -> float | None:
    """The shortest lead (in the interval's unit) a paired t can decide at `seeds` seeds when the sd of the
    differences sits at its interval/√6 floor; None below MIN_SEEDS."""
    if seeds < MIN_SEEDS:
        return None
    return t_quantile(1 - level / 2, seeds - 1) * interval / math.sqrt(6) / math.sqrt(seeds)


def sign_flip_p(differences: tuple[float, ...]) -> float:
    """Two-sided p of the mean paired difference under random signs (exact for up to 13 pairs)."""
    import numpy as np
    from scipy.stats import permutation_test

    result = permutation_test((np.asarray(differences, dtype=float),), lambda x, axis: np.mean(x, axis=axis),
                              permutation_type="samples", vectorized=True, n_resamples=PERMUTATIONS,
                              alternative="two-sided", rng=np.random.default_rng(0))
    return float(result.pvalue)


@dataclass(frozen=True)
class TimesSaved(Paired):
    """Steps to target of the slower side minus the faster side, paired by seed (positive: the faster side saves
    steps), a seed that missed counted at the budget.

    `censored` counts the paired seeds in which either side missed. Without one, the times are measurements
    (interpolated, floored at the check interval as any Paired) and the Student-t interval and test apply. With
    one, a difference is only a bound: no sd, interval or effect size, and the p-value is the exact sign-flip
    permutation test's.
    """

    censored: int = 0
    reached_slow: int = 0
    reached_fast: int = 0

    @property
    def sd(self) -> float | None:
        return None if self.censored else super().sd

    @property
    def uses_t_test(self) -> bool:
        return not self.censored

    @property
    def p_value(self) -> float | None:
        if not self.censored:
            return super().p_value
        if not self.enough or self.tie:
            return None
        return sign_flip_p(self.differences)

    @property
    def smallest_p(self) -> float:
        """The smallest p the test could give at these seeds (2/2ⁿ for a censored comparison)."""
        return min(1.0, 2.0 / 2 ** self.n) if self.censored else 0.0

    @property
    def reached_text(self) -> str:
        """'reached the target in 3/3 vs 0/3 seeds' (faster side first)."""
        return f"reached the target in {self.reached_fast}/{self.n} vs {self.reached_slow}/{self.n} seeds"

    @property
    def method_text(self) -> str:
        """How the comparison was tested, for the text beside it."""
        if not self.censored:
            return "interpolated times, paired t"
        return (f"censored: {self.censored} of {self.n} seeds missed the target on a side, and a miss counts at the "
                f"budget, so the steps saved are a bound, not a measurement; exact sign-flip permutation test, no "
                f"interval (at {self.n} seeds its p cannot go below {self.smallest_p:.3g})")


def times_saved(slow: tuple[RunResult, ...], fast: tuple[RunResult, ...], max_epochs: int,
                epoch_steps: dict[int, int], target: float | None = None) -> TimesSaved:
    """Steps to target saved by `fast` over `slow`, paired by seed (seeds without both runs are left out)."""
    by_seed = [{run.seed: run for run in runs} for runs in (slow, fast)]
    seeds = sorted(by_seed[0].keys() & by_seed[1].keys(), key=repr)
    differences, censored, reached = [], 0, [0, 0]
    for seed in seeds:
        pair = (by_seed[0][seed], by_seed[1][seed])
        steps = [run_target_steps(run, max_epochs, epoch_steps, target)[0] for run in pair]
        if not all(math.isfinite(value) for value in steps):
            continue
        hit = [run.reached for run in pair]
        reached = [count + h for count, h in zip(reached, hit)]
        censored += not all(hit)
        differences.append(float(steps[0]) - float(steps[1]))
    interval = check_interval([*slow, *fast], epoch_steps)
    return TimesSaved(tuple(differences), interval, censored=censored, reached_slow=reached[0],
                      reached_fast=reached[1])


def finest_lead_text(record: "SweepRecord") -> str:
    """': with checks every 100 steps and 3 judged seeds, no lead under 101 steps can be decided at 5%' for a report's
    method text, at the fewest seeds a chosen configuration is judged on ('' below 3)."""
    from optlab.report.selection import choose_lrs

    judged = [len(choice.chosen.runs) for choice in choose_lrs(record.runs, record.optimizers).values()
              if choice.chosen is not None]
    epoch_steps = steps_per_epoch(record.runs)
    interval = check_interval(record.runs, epoch_steps)
    seeds = min(judged, default=0)
    finest = finest_decidable_lead(interval, seeds) if interval else None
    if finest is None:
        return ""
    return (f": with checks every {interval:g} steps and {seeds} judged seeds, no lead under {finest:.0f} steps "
            "can be decided at 5%")
