"""The answer at every tuning budget: what a user who can afford b trials should expect from each optimizer.

From K trials of one optimizer, the expected score of the best of b trials drawn at random (without
replacement) is exact, with no resampling: the i-th smallest of K scores is the best of a b-subset in
C(i-1, b-1) of the C(K, b) subsets (Dodge et al., "Show Your Work", EMNLP 2019, expected validation
performance). The same weights give the expected value of any other quantity of the trial a b-trial search
would pick (its test accuracy, say), since the pick is the subset's best by the selection score.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from math import comb


def best_of_weights(count: int, budget: int) -> list[float]:
    """P(the i-th smallest of `count` scores is the best of `budget` drawn without replacement), i = 1..count."""
    if not 1 <= budget <= count:
        raise ValueError(f"a budget of {budget} trials needs 1 <= budget <= {count}")
    total = comb(count, budget)
    return [comb(index, budget - 1) / total for index in range(count)]


def expected_pick(scores: Sequence[float], budget: int, values: Sequence[float] | None = None) -> float:
    """The expected `values` (default: the scores) of the trial a `budget`-trial search picks by score.

    Ties in score are broken by position, as a search that keeps its first best would.
    """
    values = scores if values is None else values
    order = sorted(range(len(scores)), key=lambda index: (scores[index], -index))
    weights = best_of_weights(len(scores), budget)
    return sum(weight * values[index] for weight, index in zip(weights, order))


def spread_of_pick(scores: Sequence[float], budget: int) -> float:
    """The standard deviation of the best of `budget` trials over the random subsets (Dodge et al.'s band)."""
    mean = expected_pick(scores, budget)
    square = expected_pick(scores, budget, [score * score for score in scores])
    return max(square - mean * mean, 0.0) ** 0.5


@dataclass(frozen=True)
class BudgetCurve:
    """One optimizer's expected best validation score after 1, 2, ..., K trials, with its spread."""

    optimizer: str
    trials: int
    expected_best: tuple[float, ...]  # index b-1: the expected best of b trials
    spread: tuple[float, ...] = ()  # index b-1: the std of the best of b trials over the subsets of size b


def budget_curve(optimizer: str, scores: Sequence[float]) -> BudgetCurve:
    budgets = range(1, len(scores) + 1)
    return BudgetCurve(optimizer, len(scores), tuple(expected_pick(scores, budget) for budget in budgets),
                       tuple(spread_of_pick(scores, budget) for budget in budgets))


def leaders(curves: Sequence[BudgetCurve]) -> list[tuple[int, str]]:
    """(budget, optimizer with the highest expected best) at every budget all curves reach."""
    common = min((curve.trials for curve in curves), default=0)
    return [(budget, max(curves, key=lambda curve: curve.expected_best[budget - 1]).optimizer)
            for budget in range(1, common + 1)]
