"""Which optimizers a sweep can tell apart from the best: within one problem over seeds, and across problems.

Within a problem, every optimizer at its chosen lr is compared with every other, seeds as blocks (two-way layout
without interaction: the seed effect common to all optimizers cancels), by Tukey's studentized range on the pooled
residual variance. An optimizer is *separated from the best* when the best mean exceeds its mean by more than
Tukey's threshold. The threshold holds for all pairs at once, so whichever optimizer the data happen to put first,
the chance that any of a set of truly equal optimizers is marked separated stays at 5% (picking the best on the
same data and testing it against each other one, uncorrected, does not).

Across problems (Demšar, JMLR 2006): the optimizers present on every problem are ranked within each problem, the
Friedman test (with Iman and Davenport's F) asks whether their mean ranks differ at all, and only then the
Nemenyi post-hoc separates two optimizers whose mean ranks differ by more than the critical difference
CD = q_α · √(k(k+1)/(6N)); Holm's step-down over the same pairs' z statistics is listed beside it.
"""

import functools
import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.optimize import brentq

from optlab.report.stats import LEVEL, MIN_SEEDS, holm

POWER = 0.8  # the power the detectable difference is stated at


@dataclass(frozen=True)
class BestComparison:
    """One problem's optimizers against its best, over the seeds every one of them has."""

    best: str
    means: dict[str, float]
    seeds: int
    df: int
    residual_sd: float
    threshold: float  # a mean this far below the best's is separated from it

    def separated(self, name: str) -> bool:
        return self.best_mean - self.means[name] > self.threshold

    @property
    def best_mean(self) -> float:
        return self.means[self.best]

    @property
    def detectable(self) -> float:
        """The gap to the best that is separated with 80% power at this spread and these seeds."""
        return detectable_gap(self.residual_sd, self.seeds, len(self.means), self.df)


@functools.cache
def studentized_range_quantile(probability: float, groups: int, df: float) -> float:
    return float(stats.studentized_range.ppf(probability, groups, df))


def tukey_threshold(residual_sd: float, seeds: int, optimizers: int, df: int, level: float = LEVEL) -> float:
    """Tukey's honest significant difference of two means over `seeds` blocks."""
    return studentized_range_quantile(1 - level, optimizers, df) * residual_sd / math.sqrt(seeds)


def detectable_gap(residual_sd: float, seeds: int, optimizers: int, df: int, power: float = POWER) -> float:
    """The true gap of one optimizer to the best that Tukey's threshold separates with `power` (a noncentral t
    for that one pair; with the others equal to the best the chosen best only errs upward, so this is a floor)."""
    if residual_sd == 0:
        return 0.0

    def shortfall(gap: float) -> float:
        return power_of_gap(gap, residual_sd, seeds, optimizers, df) - power

    high = residual_sd
    while shortfall(high) < 0:
        high *= 2
    return float(brentq(shortfall, 0.0, high, xtol=1e-9 * high))


def power_of_gap(gap: float, residual_sd: float, seeds: int, optimizers: int, df: int) -> float:
    """The chance that Tukey's threshold separates one optimizer `gap` below the best (the floor above)."""
    pair_se = residual_sd * math.sqrt(2 / seeds)
    critical = studentized_range_quantile(1 - LEVEL, optimizers, df) / math.sqrt(2)
    return float(stats.nct.sf(critical, df, gap / pair_se))


def compare_with_best(values: Mapping[str, Mapping[Hashable, float | None]],
                      order: list[str] | None = None) -> BestComparison | None:
    """Tukey's comparison over the seeds every optimizer has a finite value for; None below MIN_SEEDS seeds or
    with fewer than two optimizers. The best is the highest mean (ties: the earlier in `order`)."""
    names = list(values)
    if len(names) < 2:
        return None
    common = set.intersection(*({seed for seed, value in values[name].items()
                                 if value is not None and math.isfinite(value)} for name in names))
    seeds = sorted(common, key=repr)
    if len(seeds) < MIN_SEEDS:
        return None
    table = np.array([[float(values[name][seed]) for seed in seeds] for name in names])
    residual = table - table.mean(axis=1, keepdims=True) - table.mean(axis=0, keepdims=True) + table.mean()
    df = (len(names) - 1) * (len(seeds) - 1)
    residual_sd = math.sqrt(float((residual ** 2).sum()) / df)
    means = {name: float(row.mean()) for name, row in zip(names, table)}
    rank = {name: (order.index(name) if order and name in order else len(names)) for name in names}
    best = max(names, key=lambda name: (means[name], -rank[name]))
    return BestComparison(best, means, len(seeds), df, residual_sd,
                          tukey_threshold(residual_sd, len(seeds), len(names), df))


@dataclass(frozen=True)
class Friedman:
    """Friedman's test of equal mean ranks over N problems and k optimizers."""

    problems: int
    optimizers: int
    chi_square: float
    p_chi_square: float
    iman_davenport: float
    p_value: float  # Iman and Davenport's F, less conservative than the chi-square (Demšar, 2006)


def friedman(ranks: np.ndarray) -> Friedman | None:
    """Friedman's test on an N × k table of within-problem ranks (ties as mean ranks); None below 2 problems or 3
    optimizers."""
    problems, optimizers = ranks.shape
    if problems < 2 or optimizers < 3:
        return None
    result = stats.friedmanchisquare(*ranks.T)
    chi = float(result.statistic)
    denominator = problems * (optimizers - 1) - chi
    f = math.inf if denominator <= 0 else (problems - 1) * chi / denominator
    p = 0.0 if math.isinf(f) else float(stats.f.sf(f, optimizers - 1, (optimizers - 1) * (problems - 1)))
    return Friedman(problems, optimizers, chi, float(result.pvalue), f, p)


def critical_difference(optimizers: int, problems: int, level: float = LEVEL) -> float:
    """Nemenyi's critical difference of two mean ranks."""
    q = studentized_range_quantile(1 - level, optimizers, math.inf) / math.sqrt(2)
    return q * math.sqrt(optimizers * (optimizers + 1) / (6 * problems))


def holm_rank_pairs(mean_ranks: dict[str, float], problems: int) -> list[dict]:
    """Every pair's z statistic of its mean-rank difference, two-sided p and Holm-adjusted p."""
    names = list(mean_ranks)
    k = len(names)
    se = math.sqrt(k * (k + 1) / (6 * problems))
    pairs = [(a, b) for index, a in enumerate(names) for b in names[index + 1:]]
    z = [(mean_ranks[a] - mean_ranks[b]) / se for a, b in pairs]
    p = [float(2 * stats.norm.sf(abs(value))) for value in z]
    return [{"a": a, "b": b, "z": value, "p": raw, "holm_p": adjusted}
            for (a, b), value, raw, adjusted in zip(pairs, z, p, holm(p))]
