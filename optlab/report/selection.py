"""Which lr each optimizer is compared at: the best mean final validation accuracy over seeds.

Nothing here reads a test metric: the test set only reports on the configuration validation chose.
Final rather than best validation accuracy, because the test accuracy is measured on the final weights:
choosing on the best epoch would pick an lr for an early-stopped model that is never tested.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from optlab.report.stats import Spread, spread

SELECTED_ON = "final_val_acc"


def selection_score(run: dict[str, Any]) -> float | None:
    """A run's final val accuracy; a diverged run without one scores 0 (None only when nothing was validated)."""
    if run.get(SELECTED_ON) is not None:
        return float(run[SELECTED_ON])
    return 0.0 if run.get("diverged") else None


@dataclass(frozen=True)
class Cell:
    """One optimizer at one lr: its runs over seeds."""

    optimizer: str
    lr: float
    runs: tuple[dict[str, Any], ...]

    @property
    def val(self) -> Spread:
        """The selection metric over seeds."""
        return spread(selection_score(run) for run in self.runs)

    @property
    def diverged(self) -> int:
        return sum(bool(run.get("diverged")) for run in self.runs)

    def metric(self, key: str | Callable[[dict], float | None]) -> Spread:
        """Any recorded metric (or function of a run) over seeds."""
        read = key if callable(key) else (lambda run: run.get(key))
        return spread(read(run) for run in self.runs)


@dataclass(frozen=True)
class Choice:
    """An optimizer's cells over the lr grid, the one validation chose, and why (or why none)."""

    optimizer: str
    cells: tuple[Cell, ...]
    chosen: Cell | None
    reason: str


def group_cells(runs: list[dict[str, Any]]) -> dict[str, list[Cell]]:
    """Runs grouped by optimizer, then by lr (ascending), in the order the optimizers first appear."""
    grouped: dict[str, dict[float, list[dict]]] = {}
    for run in runs:
        grouped.setdefault(run["optimizer"], {}).setdefault(run["lr"], []).append(run)
    return {
        name: [Cell(name, lr, tuple(sorted(by_lr[lr], key=lambda r: r["seed"]))) for lr in sorted(by_lr)]
        for name, by_lr in grouped.items()
    }


def ranked_by_val(cells: list[Cell]) -> list[Cell]:
    """Worst to best mean val accuracy; between equal means the smaller lr ranks higher."""
    return sorted(cells, key=lambda cell: (cell.val.mean, -cell.lr))


def has_validation(runs: list[dict[str, Any]]) -> bool:
    """Whether the sweep validated at all (a sweep without a val split has no val accuracy in any run)."""
    return any(run.get(SELECTED_ON) is not None for run in runs)


def choose(optimizer: str, cells: list[Cell], validated: bool = True) -> Choice:
    """The cell with the highest mean val accuracy; ties go to the smaller lr. Test metrics are never read."""
    if len(cells) == 1:
        return Choice(optimizer, tuple(cells), cells[0], "only lr in the grid")
    scored = [cell for cell in cells if cell.val.n]
    if not validated or not scored:
        return Choice(optimizer, tuple(cells), None, "no validation split: no selection")
    return Choice(optimizer, tuple(cells), ranked_by_val(scored)[-1], "best mean final val acc over seeds")


def choose_lrs(runs: list[dict[str, Any]], order: list[str] | None = None) -> dict[str, Choice]:
    """One Choice per optimizer, in `order` where given."""
    grouped = group_cells(runs)
    validated = has_validation(runs)
    names = [name for name in order or [] if name in grouped]
    names += [name for name in grouped if name not in names]
    return {name: choose(name, grouped[name], validated) for name in names}
