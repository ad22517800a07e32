"""Statistics of the report, all in one place: spreads over seeds and paired comparisons between optimizers.

A comparison pairs runs by seed (within a seed every optimizer starts from the same weights and sees the same
data order), so seed-to-seed variation common to both sides cancels. It reports the mean paired difference with
a two-sided 95% Student-t confidence interval, the effect size (mean / sd of the differences, Cohen's d_z), and
how many seeds each side won. The t quantile is computed here from the regularized incomplete beta function
(scipy is not a dependency). A claim resting on several comparisons corrects them with Holm's step-down method.
"""

import functools
import math
import statistics
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass

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


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """Lentz's continued fraction for the incomplete beta function (Numerical Recipes, betacf)."""
    tiny, qab, qap, qam = 1e-300, a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        even = m * (b - m) * x / ((qam + m2) * (a + m2))
        odd = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        for numerator in (even, odd):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def _regularized_beta(a: float, b: float, x: float) -> float:
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_continued_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_continued_fraction(b, a, 1.0 - x) / b


def t_two_sided_p(t: float, df: int) -> float:
    """P(|T| >= |t|) for Student's t with df degrees of freedom."""
    if math.isinf(t):
        return 0.0
    return _regularized_beta(df / 2.0, 0.5, df / (df + t * t))


@functools.cache
def t_quantile(probability: float, df: int) -> float:
    """The t value below which `probability` of Student's t(df) lies (0.5 < probability < 1), by bisection."""
    low, high = 0.0, 1.0
    while 1.0 - t_two_sided_p(high, df) / 2.0 < probability:
        high *= 2.0
    for _ in range(200):
        middle = (low + high) / 2.0
        if 1.0 - t_two_sided_p(middle, df) / 2.0 < probability:
            low = middle
        else:
            high = middle
    return (low + high) / 2.0


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

    @property
    def mean(self) -> float | None:
        return statistics.fmean(self.differences) if self.differences else None

    @property
    def sd(self) -> float | None:
        if self.n < 2:
            return None
        return max(statistics.stdev(self.differences), self.resolution / math.sqrt(6))

    @property
    def enough(self) -> bool:
        return self.n >= MIN_SEEDS

    @property
    def tie(self) -> bool:
        """Every seed ties: no evidence either way, whatever the interval says."""
        return bool(self.differences) and all(d == 0 for d in self.differences)

    @property
    def half_width(self) -> float | None:
        if self.sd is None:
            return None
        return t_quantile(1 - LEVEL / 2, self.n - 1) * self.sd / math.sqrt(self.n)

    @property
    def interval(self) -> tuple[float, float] | None:
        if self.half_width is None:
            return None
        return self.mean - self.half_width, self.mean + self.half_width

    @property
    def p_value(self) -> float | None:
        """Two-sided paired t-test; None below MIN_SEEDS or for a tie (no evidence)."""
        if not self.enough or self.tie:
            return None
        if self.sd == 0:
            return 0.0
        return t_two_sided_p(self.mean / (self.sd / math.sqrt(self.n)), self.n - 1)

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
