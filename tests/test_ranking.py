"""Separated from the best, within a problem and across problems: exact pieces and simulated error rates.

The simulations fabricate test accuracies (no training): per seed a common offset (the seed's initial weights
and data order, shared by every optimizer) plus each run's own noise of 1 point, and judge them with the report's
own code (optlab.report.ranking).
"""

import math

import numpy as np
import pytest

from optlab.report.cd_figure import not_separated_groups
from optlab.report.cross_problem import average_ranks
from optlab.report.ranking import (
    LEVEL,
    POWER,
    compare_with_best,
    critical_difference,
    detectable_gap,
    friedman,
    holm_rank_pairs,
    power_of_gap,
)

NOISE, SEED_SPREAD = 0.01, 0.02
SWEEPS = 1000
MARGIN = 3 * math.sqrt(LEVEL * (1 - LEVEL) / SWEEPS)  # three standard errors of a rate at 5%


def test_friedman_and_iman_davenport_follow_demsar():
    ranks = np.array([[1, 2, 3, 4], [2, 1, 3, 4], [1, 3, 2, 4], [1, 2, 4, 3], [2, 1, 4, 3]], dtype=float)
    n, k = ranks.shape
    mean = ranks.mean(axis=0)
    chi = 12 * n / (k * (k + 1)) * (np.sum(mean ** 2) - k * (k + 1) ** 2 / 4)  # Demšar (2006), eq. for χ²_F
    test = friedman(ranks)
    assert test.chi_square == pytest.approx(chi)
    assert test.iman_davenport == pytest.approx((n - 1) * chi / (n * (k - 1) - chi))
    assert test.p_value < test.p_chi_square  # the F form is the less conservative one
    assert friedman(ranks[:, :2]) is None and friedman(ranks[:1]) is None


def test_critical_difference_matches_demsars_table():
    # q_0.05 for k = 5 is 2.728 in Demšar's table 5(a); CD = q · sqrt(k(k+1)/(6N))
    assert critical_difference(5, 3) == pytest.approx(2.728 * math.sqrt(30 / 18), abs=1e-3)
    assert critical_difference(2, 10) == pytest.approx(1.960 * math.sqrt(6 / 60), abs=1e-3)


def test_holm_pairs_of_mean_ranks():
    pairs = holm_rank_pairs({"a": 1.0, "b": 2.0, "c": 3.0}, problems=12)
    se = math.sqrt(3 * 4 / (6 * 12))
    by_pair = {(pair["a"], pair["b"]): pair for pair in pairs}
    assert by_pair[("a", "c")]["z"] == pytest.approx(-2 / se)
    assert by_pair[("a", "c")]["holm_p"] == pytest.approx(3 * by_pair[("a", "c")]["p"])


def test_groups_not_separated_are_the_runs_within_one_cd():
    ranks = {"a": 1.0, "b": 1.5, "c": 2.9, "d": 4.0}
    assert not_separated_groups(ranks, 1.5) == [["a", "b"], ["b", "c"], ["c", "d"]]
    assert not_separated_groups(ranks, 1.2) == [["a", "b"], ["c", "d"]]
    assert not_separated_groups(ranks, 2.0) == [["a", "b", "c"], ["c", "d"]]
    assert not_separated_groups(ranks, 0.1, rejects=False) == [["a", "b", "c", "d"]]


def accuracies(rng: np.random.Generator, gaps: np.ndarray, seeds: int) -> dict[str, dict[int, float]]:
    """One problem: optimizer i at 0.7 − gaps[i], per seed a shared offset plus each run's own noise."""
    offset = rng.normal(0, SEED_SPREAD, seeds)
    values = 0.7 - gaps[:, None] + offset[None, :] + rng.normal(0, NOISE, (gaps.size, seeds))
    return {f"opt{i}": dict(enumerate(row)) for i, row in enumerate(values)}


@pytest.mark.parametrize("optimizers, seeds", [(5, 3), (10, 3), (19, 5)])
def test_equal_optimizers_are_separated_from_the_best_no_more_often_than_the_level(optimizers, seeds):
    rng = np.random.default_rng(optimizers * 100 + seeds)
    gaps = np.zeros(optimizers)
    any_separated = 0
    for _ in range(SWEEPS):
        versus = compare_with_best(accuracies(rng, gaps, seeds))
        any_separated += any(versus.separated(name) for name in versus.means)
    assert any_separated / SWEEPS <= LEVEL + MARGIN, any_separated / SWEEPS


@pytest.mark.parametrize("optimizers, seeds", [(5, 3), (5, 5), (10, 5)])
def test_two_points_worse_is_missed_no_more_often_than_the_stated_power_allows(optimizers, seeds):
    rng = np.random.default_rng(7 + optimizers + seeds)
    gaps = np.zeros(optimizers)
    gaps[-1] = 0.02
    df = (optimizers - 1) * (seeds - 1)
    stated = power_of_gap(0.02, NOISE, seeds, optimizers, df)  # what a report with this spread states
    found = sum(compare_with_best(accuracies(rng, gaps, seeds)).separated(f"opt{optimizers - 1}")
                for _ in range(SWEEPS)) / SWEEPS
    margin = 3 * math.sqrt(stated * (1 - stated) / SWEEPS)
    assert 1 - found <= 1 - stated + margin, (found, stated)


@pytest.mark.parametrize("optimizers, seeds", [(5, 3), (10, 5)])
def test_the_stated_detectable_gap_is_separated_in_at_least_80_percent_of_sweeps(optimizers, seeds):
    rng = np.random.default_rng(optimizers * seeds)
    df = (optimizers - 1) * (seeds - 1)
    gaps = np.zeros(optimizers)
    gaps[-1] = detectable_gap(NOISE, seeds, optimizers, df)
    found = sum(compare_with_best(accuracies(rng, gaps, seeds)).separated(f"opt{optimizers - 1}")
                for _ in range(SWEEPS)) / SWEEPS
    assert found >= POWER - 3 * math.sqrt(POWER * (1 - POWER) / SWEEPS), (found, gaps[-1])


def test_the_old_uncorrected_mark_separated_equal_optimizers_more_often():
    """Picking the best on the data and testing each other one against it uncorrected (the former "≈ best")
    separates equal optimizers far above 5%; the Tukey comparison does not."""
    from scipy import stats

    rng = np.random.default_rng(5)
    gaps = np.zeros(10)
    old = new = 0
    for _ in range(SWEEPS // 2):
        values = accuracies(rng, gaps, 3)
        table = np.array([list(row.values()) for row in values.values()])
        best = table.mean(axis=1).argmax()
        p = [stats.ttest_rel(table[best], row).pvalue for i, row in enumerate(table) if i != best]
        old += min(p) < LEVEL
        versus = compare_with_best(values)
        new += any(versus.separated(name) for name in values)
    assert old / (SWEEPS // 2) > 2 * LEVEL and new / (SWEEPS // 2) <= LEVEL + MARGIN, (old, new)


def across_problems(rng: np.random.Generator, gaps: np.ndarray, problems: int, seeds: int) -> dict[str, bool]:
    """Mean accuracies of the optimizers on each problem, ranked, then Friedman + Nemenyi."""
    table = []
    for _ in range(problems):
        values = accuracies(rng, gaps, seeds)
        ranks = average_ranks({name: float(np.mean(list(row.values()))) for name, row in values.items()})
        table.append([ranks[name] for name in values])
    table = np.array(table)
    test = friedman(table)
    mean = table.mean(axis=0)
    cd = critical_difference(len(gaps), problems)
    return {f"opt{i}": bool(test.p_value < LEVEL and mean[i] - mean.min() > cd) for i in range(len(gaps))}


@pytest.mark.parametrize("optimizers, problems", [(5, 3), (5, 8), (10, 6)])
def test_across_problems_equal_optimizers_are_separated_no_more_often_than_the_level(optimizers, problems):
    rng = np.random.default_rng(optimizers + 31 * problems)
    rate = sum(any(across_problems(rng, np.zeros(optimizers), problems, 3).values())
               for _ in range(SWEEPS // 2)) / (SWEEPS // 2)
    assert rate <= LEVEL + 3 * math.sqrt(LEVEL * (1 - LEVEL) / (SWEEPS // 2)), rate


def test_across_problems_a_clearly_worse_optimizer_is_separated_with_enough_problems():
    rng = np.random.default_rng(2)
    gaps = np.array([0.0, 0.0, 0.0, 0.0, 0.05])  # five seed-noise widths below the rest on every problem
    found = sum(across_problems(rng, gaps, 8, 3)["opt4"] for _ in range(200)) / 200
    assert found >= 0.8, found
