"""Every pair of optimizers at their chosen lrs: the paired difference in test accuracy, and whether it is clear.

"Clear" means the 95% interval of the paired difference excludes 0 after Holm's correction over all the table's
pairs, so reading the whole table keeps the chance of any false "clear" at 5% or less.
"""

from dataclasses import dataclass

from optlab.report.claims import by_seed
from optlab.report.selection import Cell, Choice
from optlab.report.stats import LEVEL, MIN_SEEDS, Paired, holm, paired


@dataclass(frozen=True)
class PairRow:
    """A minus B in test accuracy, paired by seed."""

    a: Cell
    b: Cell
    pairs: Paired
    holm_p: float | None

    @property
    def clear(self) -> bool:
        return self.holm_p is not None and self.holm_p < LEVEL

    @property
    def verdict(self) -> str:
        if not self.pairs.enough:
            return f"inconclusive: needs at least {MIN_SEEDS} seeds"
        if self.pairs.tie:
            return "tied in every seed"
        if not self.clear:
            return "not a clear difference"
        return f"{self.a.optimizer if self.pairs.mean > 0 else self.b.optimizer} ahead"


def _test_acc(run: dict) -> float | None:
    return run.get("test_acc")


def pairwise(choices: dict[str, Choice]) -> list[PairRow]:
    """One row per unordered pair of optimizers that have a chosen lr, in the report's optimizer order."""
    cells = [choice.chosen for choice in choices.values() if choice.chosen is not None]
    pairs = [(a, b, paired(by_seed(a, _test_acc), by_seed(b, _test_acc)))
             for index, a in enumerate(cells) for b in cells[index + 1:]]
    adjusted = holm([p.p_value for _, _, p in pairs])
    return [PairRow(a, b, p, q) for (a, b, p), q in zip(pairs, adjusted)]
