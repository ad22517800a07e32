"""Which configuration each optimizer is compared at, and on which seeds: validation chooses, fresh seeds judge.

Nothing here reads a test metric: the test set only reports on the configuration validation chose.
Final rather than best validation accuracy, because the test accuracy is measured on the final weights:
choosing on the best epoch would pick an lr for an early-stopped model that is never tested.

The best of several configurations, judged on the seeds it was chosen on, looks better than it is (the
winner's noise is part of why it won), and more so the more configurations an optimizer had. So a verdict never
rests on a seed that chose:
- a search (or a grid with --confirm-seeds) chooses on its tuning runs and judges on its confirmation runs,
  which re-run the chosen configuration on seeds nothing was chosen on;
- a grid without confirmation runs in which some optimizer has several lrs chooses on its first seeds and
  judges on the rest (split_seeds); a grid with one lr per optimizer chooses nothing, and judges on every seed.
"""

from collections.abc import Callable
from dataclasses import dataclass

from optlab.records.run_result import FAMILY_BY_NAME, RunResult
from optlab.report.stats import Spread, spread

SELECTED_ON = "final_val_acc"
JUDGED_ON_AT_LEAST = 3  # judging seeds a split keeps (report/stats.MIN_SEEDS: fewer decide nothing)


def selection_score(run: RunResult) -> float | None:
    """A run's final val accuracy; a diverged run without one scores 0 (None only when nothing was validated)."""
    if run.final_val_acc is not None:
        return float(run.final_val_acc)
    return 0.0 if run.diverged else None


@dataclass(frozen=True)
class Cell:
    """One optimizer at one lr: its runs over seeds."""

    optimizer: str
    lr: float
    runs: tuple[RunResult, ...]
    trial: int | None = None  # a search trial's number: its lr alone does not name its configuration

    @property
    def label(self) -> str:
        """How tables name the configuration: its lr, and its trial where it came from a search."""
        from optlab.report.formatting import lr_text

        return f"lr {lr_text(self.lr)}" + (f" (trial {self.trial})" if self.trial is not None else "")

    @property
    def val(self) -> Spread:
        """The selection metric over seeds."""
        return spread(selection_score(run) for run in self.runs)

    @property
    def diverged(self) -> int:
        return sum(run.diverged for run in self.runs)

    def metric(self, key: str | Callable[[RunResult], float | None]) -> Spread:
        """Any recorded metric (a field's name, or a function of a run) over seeds."""
        read = key if callable(key) else (lambda run: getattr(run, key))
        return spread(read(run) for run in self.runs)


@dataclass(frozen=True)
class Choice:
    """An optimizer's candidate cells (on the seeds that choose), the one validation chose (`selected`), the
    runs verdicts rest on (`chosen`: that configuration on seeds that chose nothing), and why (or why none)."""

    optimizer: str
    cells: tuple[Cell, ...]
    chosen: Cell | None
    reason: str
    selected: Cell | None = None
    judged_on: str = ""  # which runs `chosen` holds: "confirmation runs", "held-out seeds 3 4 5", "every seed"
    # Every configuration again on the seeds that judge (a grid judged on held-out seeds; empty otherwise): what a
    # comparison of the lrs themselves (the lr-sensitivity claim) rests on, ranked by the cells that chose.
    judged_cells: tuple[Cell, ...] = ()

    @property
    def family(self) -> str | None:
        """The family the optimizer's runs recorded (by its name where it has none here)."""
        runs = [run for cell in (*self.cells, self.chosen) if cell is not None for run in cell.runs]
        return next((run.family for run in runs if run.family), FAMILY_BY_NAME.get(self.optimizer))


def split_seeds(seeds: list[int]) -> tuple[list[int], list[int]]:
    """(seeds that choose, seeds that judge) of a grid without confirmation runs: the last max(3, half) judge,
    the rest (at least one) choose. With 3 seeds or fewer, 2 or fewer are left to judge: nothing can be decided."""
    ordered = sorted(seeds)
    if len(ordered) < 2:
        return ordered, []
    judging = min(len(ordered) - 1, max(JUDGED_ON_AT_LEAST, (len(ordered) + 1) // 2))
    return ordered[:len(ordered) - judging], ordered[len(ordered) - judging:]


def _key(run: RunResult) -> tuple:
    return ("trial", run.trial) if run.trial is not None else ("lr", run.lr)


def group_cells(runs: list[RunResult]) -> dict[str, list[Cell]]:
    """Runs grouped by optimizer, then by configuration (lr ascending, or trial number), in the order the
    optimizers first appear."""
    grouped: dict[str, dict[tuple, list[RunResult]]] = {}
    for run in runs:
        grouped.setdefault(run.optimizer, {}).setdefault(_key(run), []).append(run)
    return {
        name: [_cell(name, group) for _, group in sorted(by_key.items(), key=lambda item: (item[0][0], item[0][1]))]
        for name, by_key in grouped.items()
    }


def _cell(name: str, runs: list[RunResult]) -> Cell:
    return Cell(name, runs[0].lr, tuple(sorted(runs, key=lambda r: r.seed)), runs[0].trial)


def ranked_by_val(cells: list[Cell]) -> list[Cell]:
    """Worst to best mean val accuracy; between equal means the smaller lr (or earlier trial) ranks higher."""
    return sorted(cells, key=lambda cell: (cell.val.mean, -cell.lr if cell.trial is None else -cell.trial))


def has_validation(runs: list[RunResult]) -> bool:
    """Whether the sweep validated at all (a sweep without a val split has no val accuracy in any run)."""
    return any(run.final_val_acc is not None for run in runs)


def choose(optimizer: str, cells: list[Cell], validated: bool = True) -> Choice:
    """The cell with the highest mean val accuracy; ties go to the smaller lr. Test metrics are never read.

    The chosen cell is judged on the runs it was chosen on: callers pass cells whose runs chose nothing
    (choose_lrs), or take `selected` alone.
    """
    if len(cells) == 1:
        return Choice(optimizer, tuple(cells), cells[0], "only lr in the grid", cells[0], "every seed")
    scored = [cell for cell in cells if cell.val.n]
    if not validated or not scored:
        return Choice(optimizer, tuple(cells), None, "no validation split: no selection")
    best = ranked_by_val(scored)[-1]
    return Choice(optimizer, tuple(cells), best, "best mean final val acc over seeds", best)


def _same_configuration(cell: Cell, run: RunResult) -> bool:
    if run.optimizer != cell.optimizer:
        return False
    if cell.trial is not None:
        return run.trial == cell.trial
    return run.trial is None and run.lr == cell.lr


def _confirmed(choice: Choice, confirmations: list[RunResult]) -> Choice:
    """The chosen configuration judged on its confirmation runs (or no verdict yet, saying why)."""
    selected = choice.selected
    if selected is None:
        return choice
    runs = [run for run in confirmations if _same_configuration(selected, run)]
    if not runs:
        waiting = f"its chosen configuration ({selected.label}) has no confirmation runs yet"
        return Choice(choice.optimizer, choice.cells, None, waiting, selected)
    cell = Cell(choice.optimizer, selected.lr, tuple(sorted(runs, key=lambda r: r.seed)), selected.trial)
    return Choice(choice.optimizer, choice.cells, cell, f"{choice.reason}; judged on confirmation seeds", selected,
                  "confirmation runs")


def _held_out(choice: Choice, judging: list[int], every: list[RunResult]) -> Choice:
    """The chosen lr judged on the grid's held-out seeds."""
    selected = choice.selected
    if selected is None:
        return choice
    runs = [run for run in every if _same_configuration(selected, run) and run.seed in judging]
    if not runs:  # a sweep still under way: no verdict yet, as for a configuration not yet confirmed
        waiting = f"its chosen configuration ({selected.label}) has no run on the held-out seeds yet"
        return Choice(choice.optimizer, choice.cells, None, waiting, selected)
    cell = Cell(choice.optimizer, selected.lr, tuple(sorted(runs, key=lambda r: r.seed)), selected.trial)
    held_out = [run for run in every if run.optimizer == choice.optimizer and run.seed in judging]
    return Choice(choice.optimizer, choice.cells, cell, f"{choice.reason} (seeds that choose)", selected,
                  f"held-out seeds {' '.join(map(str, judging))}",
                  tuple(group_cells(held_out).get(choice.optimizer, [])))


def _replace_judged(choice: Choice, judged_on: str) -> Choice:
    return Choice(choice.optimizer, choice.cells, choice.chosen, choice.reason, choice.selected, judged_on)


def choose_lrs(runs: list[RunResult], order: list[str] | None = None) -> dict[str, Choice]:
    """One Choice per optimizer, in `order` where given: chosen on tuning runs, judged on runs that chose nothing
    (see the module's docstring)."""
    tuning = [run for run in runs if run.stage != "confirm"]
    confirmations = [run for run in runs if run.stage == "confirm"]
    searched = any(run.stage == "tune" for run in runs)
    grouped = group_cells(tuning)
    validated = has_validation(runs)
    names = [name for name in order or [] if name in grouped]
    names += [name for name in grouped if name not in names]
    several = any(len(cells) > 1 for cells in grouped.values())
    if confirmations or searched or not several or not validated:
        choices = {name: choose(name, grouped[name], validated) for name in names}
        if confirmations or searched:
            return {name: _confirmed(choice, confirmations) for name, choice in choices.items()}
        return choices
    choosing, judging = split_seeds(sorted({run.seed for run in tuning}))
    if not judging:  # one seed: shown as chosen on it; no paired comparison decides anything on one seed
        return {name: _replace_judged(choose(name, grouped[name], validated), "the seed that chose (one seed: no "
                                      "verdict)") for name in names}
    on_choosing = group_cells([run for run in tuning if run.seed in choosing])
    choices = {}
    for name in names:
        choice = choose(name, on_choosing.get(name, []), validated) if name in on_choosing else Choice(
            name, (), None, f"no run on the seeds that choose ({' '.join(map(str, choosing))})")
        if len(grouped[name]) == 1 and choice.selected is not None:  # nothing to choose: still judged on held-out
            choice = Choice(name, choice.cells, choice.selected, "only lr in the grid", choice.selected)
        choices[name] = _held_out(choice, judging, tuning)
    return choices
