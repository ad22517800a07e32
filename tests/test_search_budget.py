"""The answer at every budget: exact expected best-of-b, checked against every subset."""

from itertools import combinations
from statistics import mean

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optlab.search.budget import best_of_weights, budget_curve, expected_pick, leaders

SCORES = st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=7)


def brute_force(scores, budget, values=None):
    """The mean over every b-subset of the value of its best (first best on ties)."""
    values = scores if values is None else values
    picks = []
    for subset in combinations(range(len(scores)), budget):
        best = max(subset, key=lambda index: (scores[index], -index))
        picks.append(values[best])
    return mean(picks)


@settings(max_examples=150, deadline=None)
@given(SCORES, st.data())
def test_the_expected_pick_equals_the_mean_over_every_subset(scores, data):
    budget = data.draw(st.integers(1, len(scores)))
    values = data.draw(st.lists(st.floats(0, 1, allow_nan=False), min_size=len(scores), max_size=len(scores)))
    assert expected_pick(scores, budget) == pytest.approx(brute_force(scores, budget))
    assert expected_pick(scores, budget, values) == pytest.approx(brute_force(scores, budget, values))


def test_weights_sum_to_one_and_the_whole_budget_picks_the_best():
    for count in range(1, 9):
        for budget in range(1, count + 1):
            assert sum(best_of_weights(count, budget)) == pytest.approx(1.0)
    assert expected_pick([0.2, 0.9, 0.5], 3) == 0.9
    assert expected_pick([0.2, 0.9, 0.5], 1) == pytest.approx(mean([0.2, 0.9, 0.5]))
    with pytest.raises(ValueError):
        best_of_weights(3, 4)


def test_a_robust_optimizer_leads_at_small_budgets_and_a_peaky_one_at_large():
    robust = budget_curve("adam", [0.80, 0.81, 0.79, 0.80, 0.82, 0.80])
    peaky = budget_curve("sgd", [0.10, 0.10, 0.10, 0.10, 0.10, 0.90])
    assert all(a <= b + 1e-12 for a, b in zip(peaky.expected_best, peaky.expected_best[1:]))
    order = leaders([robust, peaky])
    assert order[0] == (1, "adam") and order[-1] == (6, "sgd")


@settings(max_examples=100, deadline=None)
@given(SCORES, st.data())
def test_the_band_is_the_std_of_the_best_over_every_subset(scores, data):
    from statistics import pstdev

    from optlab.search.budget import spread_of_pick

    budget = data.draw(st.integers(1, len(scores)))
    picks = [max(scores[index] for index in subset) for subset in combinations(range(len(scores)), budget)]
    assert spread_of_pick(scores, budget) == pytest.approx(pstdev(picks), abs=1e-6)
