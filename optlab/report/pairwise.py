"""Every pair of optimizers at their chosen lrs: the paired difference in test accuracy, and whether it is clear.

The pairs are part of the report's one family of verdicts (see family.py): "clear" means the comparison survives
the report's correction over every comparison it judges, and the interval shown is at the level that correction
matches, so it excludes 0 exactly when the row says clear.
"""

from dataclasses import dataclass

from optlab.records.run_result import RunResult
from optlab.report.claims import by_seed
from optlab.report.family import Family, Verdict, test_acc_key
from optlab.report.grid_edges import grid_edges
from optlab.report.selection import Cell, Choice
from optlab.report.stats import MIN_SEEDS, paired


@dataclass(frozen=True)
class PairRow:
    """A minus B in test accuracy, paired by seed, with the report's corrected verdict."""

    a: Cell
    b: Cell
    judged: Verdict
    untuned: tuple[str, ...] = ()  # the sides whose chosen lr is at the edge of their grid

    @property
    def pairs(self):
        return self.judged.pairs

    @property
    def adjusted_p(self) -> float | None:
        return self.judged.adjusted_p

    @property
    def clear(self) -> bool:
        return self.judged.clear

    @property
    def verdict(self) -> str:
        if not self.pairs.enough:
            return f"inconclusive: needs at least {MIN_SEEDS} seeds"
        if self.pairs.tie:
            return "tied in every seed"
        text = "not a clear difference"
        if self.clear:
            text = f"{self.a.optimizer if self.pairs.mean > 0 else self.b.optimizer} ahead"
        if self.untuned:
            text += f" (lr at its grid's edge: {', '.join(self.untuned)})"
        return text


def _test_acc(run: RunResult) -> float | None:
    return run.test_acc


def _chosen(choices: dict[str, Choice]) -> list[Cell]:
    return [choice.chosen for choice in choices.values() if choice.chosen is not None]


def pair_key(a: Cell, b: Cell) -> tuple[str, str, str]:
    return test_acc_key(a.optimizer, b.optimizer)


def add_pairs(choices: dict[str, Choice], family: Family) -> None:
    """Put every pair of the table into the report's family."""
    cells = _chosen(choices)
    for index, a in enumerate(cells):
        for b in cells[index + 1:]:
            family.judge(pair_key(a, b), paired(by_seed(a, _test_acc), by_seed(b, _test_acc)))


def pairwise(choices: dict[str, Choice], family: Family) -> list[PairRow]:
    """One row per unordered pair of optimizers that have a chosen lr, in the report's optimizer order, read from
    the report's corrected family."""
    cells, edges = _chosen(choices), grid_edges(choices)
    return [PairRow(a, b, family.judge(pair_key(a, b), None),
                    tuple(cell.optimizer for cell in (a, b) if cell.optimizer in edges))
            for index, a in enumerate(cells) for b in cells[index + 1:]]
