"""Statistics of the report, all in one place: spreads over seeds and paired comparisons between optimizers.

A comparison pairs runs by seed (within a seed every optimizer starts from the same weights and sees the same
data order), so seed-to-seed variation common to both sides cancels. It reports the mean paired difference with
a two-sided 95% Student-t confidence interval, the effect size (mean / sd of the differences, Cohen's d_z), and
how many seeds each side won (t quantiles and p-values from scipy.stats).

A report judges many comparisons at once, so its verdicts are corrected together as one family (`correct`):
Holm's step-down method for the family-wise error rate (the default), or Benjamini–Hochberg for the false
discovery rate. Each correction also gives the one interval level at which an interval excludes 0 exactly when
its comparison is called clear, so a printed interval never contradicts the verdict beside it.

Kept whole: a few lines over the house length, since the paired comparison and the correction that reads its
p-values are one statistic.
"""

import functools
import math
import statistics
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from scipy import stats as scipy_stats

LEVEL = 0.05  # two-sided test level of every verdict; 95% intervals
MIN_SEEDS = 3  # fewer paired seeds leave the t interval so wide (or undefined) that a verdict means little


@dataclass(frozen=True)
class Spread:
    """A metric over seeds: the finite values, their mean and sample std (None when it cannot be told)."""

    values: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float | None:
        return statistics.fmean(self.values) if self.values else None

    @property
    def std(self) -> float | None:
        # n-1: a few seeds are a sample of the seeds one could have drawn, not the whole population.
        return statistics.stdev(self.values) if self.n > 1 else None


def spread(values: Iterable[float | None]) -> Spread:
    """Spread of the finite values; None and NaN (a metric a run never produced) are left out."""
    return Spread(tuple(float(v) for v in values if v is not None and math.isfinite(v)))


def t_two_sided_p(t: float, df: int) -> float:
    """P(|T| >= |t|) for Student's t with df degrees of freedom."""
    return float(2 * scipy_stats.t.sf(abs(t), df))


def t_quantile(probability: float, df: int) -> float:
    """The t value below which `probability` of Student's t(df) lies."""
    return float(scipy_stats.t.ppf(probability, df))


@dataclass(frozen=True)
class Paired:
    """A minus B over the seeds both have (positive: A larger), with a 95% t interval and a two-sided p-value.

    `resolution` is the step a metric is measured in (time to target is only known to the validation interval):
    the sd of the differences is floored at resolution/sqrt(6), the sd of the difference of two measurements
    each rounded up to the next check, so seeds that tie at the same check do not read as zero noise.
    """

    differences: tuple[float, ...]
    resolution: float = 0.0

    @property
    def n(self) -> int:
        return len(self.differences)

    @functools.cached_property
    def mean(self) -> float | None:
        return statistics.fmean(self.differences) if self.differences else None

    @functools.cached_property
    def sd(self) -> float | None:
        if self.n < 2:
            return None
        sample = math.sqrt(math.fsum((d - self.mean) ** 2 for d in self.differences) / (self.n - 1))
        return max(sample, self.resolution / math.sqrt(6))

    @property
    def enough(self) -> bool:
        return self.n >= MIN_SEEDS

    @property
    def tie(self) -> bool:
        """Every seed ties: no evidence either way, whatever the interval says."""
        return bool(self.differences) and all(d == 0 for d in self.differences)

    @property
    def half_width(self) -> float | None:
        return self.half_width_at(1 - LEVEL)

    def half_width_at(self, confidence: float) -> float | None:
        if self.sd is None:
            return None
        return t_quantile(1 - (1 - confidence) / 2, self.n - 1) * self.sd / math.sqrt(self.n)

    @property
    def interval(self) -> tuple[float, float] | None:
        """The unadjusted 95% interval (context only: a verdict in a family uses `interval_at`)."""
        return self.interval_at(1 - LEVEL)

    def interval_at(self, confidence: float) -> tuple[float, float] | None:
        """The two-sided t interval at this confidence (e.g. the level a family's correction matches)."""
        half = self.half_width_at(confidence)
        if half is None:
            return None
        return self.mean - half, self.mean + half

    @functools.cached_property
    def p_value(self) -> float | None:
        """Two-sided paired t-test; None below MIN_SEEDS or for a tie (no evidence)."""
        return p_values([self])[0]

    @property
    def uses_t_test(self) -> bool:
        """Whether its p-value is the paired t-test's (a censored comparison has its own test, see target.py)."""
        return True

    @property
    def t(self) -> float | None:
        """The paired t statistic (None where no p-value is told; infinite when every seed differs alike)."""
        if not self.enough or self.tie or not self.uses_t_test:
            return None
        return math.copysign(math.inf, self.mean) if self.sd == 0 else self.mean / (self.sd / math.sqrt(self.n))

    @property
    def effect_size(self) -> float | None:
        """Cohen's d_z: mean difference over the sd of the differences."""
        if self.sd in (None, 0):
            return None
        return self.mean / self.sd

    @property
    def wins(self) -> int:
        return sum(d > 0 for d in self.differences)

    @property
    def losses(self) -> int:
        return sum(d < 0 for d in self.differences)


def p_values(comparisons: list[Paired]) -> list[float | None]:
    """Two-sided paired t-test p-values of many comparisons in one scipy call (a report has hundreds); a
    comparison with a test of its own (censored times) gets that test's p."""
    told = [(index, pairs.t, pairs.n - 1) for index, pairs in enumerate(comparisons) if pairs.t is not None]
    found: list[float | None] = [None if pairs.uses_t_test else pairs.p_value for pairs in comparisons]
    if told:
        indices, t, df = zip(*told)
        for index, p in zip(indices, 2 * scipy_stats.t.sf(np.abs(t), df)):
            found[index] = float(p)
    return found


def paired(a: Mapping[Hashable, float | None], b: Mapping[Hashable, float | None], resolution: float = 0.0) -> Paired:
    """A[seed] - B[seed] over the seeds where both sides have a finite value."""
    seeds = sorted((seed for seed in a.keys() & b.keys() if _finite(a[seed]) and _finite(b[seed])), key=repr)
    return Paired(tuple(float(a[seed]) - float(b[seed]) for seed in seeds), resolution)


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def holm(p_values: list[float | None]) -> list[float | None]:
    """Holm-adjusted p-values (None stays None and does not count as a test)."""
    tested = sorted((p, index) for index, p in enumerate(p_values) if p is not None)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, index) in enumerate(tested):
        running = max(running, min(1.0, (len(tested) - rank) * p))
        adjusted[index] = running
    return adjusted


def benjamini_hochberg(p_values: list[float | None]) -> list[float | None]:
    """Benjamini–Hochberg adjusted p-values (None stays None and does not count as a test)."""
    tested = [index for index, p in enumerate(p_values) if p is not None]
    adjusted: list[float | None] = [None] * len(p_values)
    if tested:
        q = scipy_stats.false_discovery_control([p_values[index] for index in tested], method="bh")
        for index, value in zip(tested, q):
            adjusted[index] = float(value)
    return adjusted


FWER, FDR = "fwer", "fdr"
PROCEDURES = {FWER: "Holm", FDR: "Benjamini–Hochberg"}


@dataclass(frozen=True)
class Correction:
    """One family of comparisons corrected together: adjusted p-values, and the interval level that matches them.

    p-values enter already multiplied by how many comparisons each was picked from (see `correct`). `threshold` is
    the raw p below which a comparison is clear: Holm stops where p exceeds level/(m − R), and Benjamini–Hochberg
    calls clear exactly the p below R·level/m (R clear of m tested; level/m when R is 0). An interval at
    confidence 1 − threshold therefore excludes 0 exactly for the clear comparisons: for Holm, the Bonferroni
    intervals of the m − R comparisons it leaves undecided (with R = 0, simultaneous 95% intervals); for
    Benjamini–Hochberg, the false-coverage-rate intervals of Benjamini & Yekutieli (2005).
    """

    control: str
    level: float
    adjusted: tuple[float | None, ...]

    @functools.cached_property
    def tested(self) -> int:
        return sum(p is not None for p in self.adjusted)

    @functools.cached_property
    def decided(self) -> int:
        return sum(p is not None and p < self.level for p in self.adjusted)

    @property
    def procedure(self) -> str:
        return PROCEDURES[self.control]

    @property
    def threshold(self) -> float:
        if self.control == FDR:
            return max(self.decided, 1) * self.level / max(self.tested, 1)
        return self.level / max(self.tested - self.decided, 1)

    def confidence(self, picked_from: int = 1) -> float:
        """The interval confidence whose exclusion of 0 is this correction's verdict, for a comparison picked from
        `picked_from` candidates (its p was multiplied by that)."""
        return 1 - self.threshold / picked_from

    def clear(self, index: int) -> bool:
        return self.adjusted[index] is not None and self.adjusted[index] < self.level


def correct(p_values: list[float | None], control: str = FWER, level: float = LEVEL,
            picked_from: list[int] | None = None) -> Correction:
    """Correct a family: Holm ("fwer") or Benjamini–Hochberg ("fdr"). A p-value of a comparison chosen by the data
    among k candidates (the top two of k optimizers) enters as min(1, k·p), Bonferroni's price for the choice."""
    if control not in PROCEDURES:
        raise ValueError(f"error control must be one of {', '.join(PROCEDURES)}, not {control!r}")
    factors = picked_from or [1] * len(p_values)
    scaled = [None if p is None else min(1.0, k * p) for p, k in zip(p_values, factors)]
    adjusted = holm(scaled) if control == FWER else benjamini_hochberg(scaled)
    return Correction(control, level, tuple(adjusted))
