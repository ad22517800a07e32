"""The runs a sweep folder plans, from its recorded settings and the results so far.

A grid plans its cells up front; a search plans `--trials` trials per optimizer at the tuning seeds, and the
confirmation runs of each optimizer's best configuration once its tuning runs are all in (what the best is
depends on them). Torch-free: the report and the sweep's results.json both list what is missing from it.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from optlab.records.order import grid_order, run_id, trial_run_id
from optlab.records.run_result import RunResult
from optlab.report.selection import choose_lrs
from optlab.search.protocol import confirmation_seeds, tuning_seeds


def tuning_run_ids(config: Mapping[str, Any]) -> list[str]:
    """The grid's cells, or every trial of every optimizer at each tuning seed, in the sweep's own order."""
    optimizers = config.get("optimizers", [])
    search = config.get("search") or "grid"
    if search != "grid":
        seeds = tuning_seeds(search, config.get("seeds", []), config.get("tune_seeds"))
        return [trial_run_id(name, number, seed) for number in range(config.get("trials", 0))
                for name in optimizers for seed in seeds]
    grids = config.get("optimizer_lrs") or {}  # optimizers with their own lr grid (--lrs auto, NAME=...)
    lr_grids = {name: grids.get(name, config.get("lrs", [])) for name in optimizers}
    return [run_id(*cell) for cell in grid_order(optimizers, lr_grids, config.get("seeds", []))]


def confirmation_run_ids(config: Mapping[str, Any], runs: Sequence[RunResult]) -> list[str]:
    """Each optimizer's best configuration on the confirmation seeds, for optimizers whose tuning is complete."""
    search = config.get("search") or "grid"
    seeds = confirmation_seeds(search, config.get("seeds", []), config.get("tune_seeds"), config.get("confirm_seeds"))
    if not seeds:
        return []
    planned = set(tuning_run_ids(config))
    done = {run.run_id for run in runs}
    ids = []
    for name, choice in choose_lrs([run for run in runs if run.stage != "confirm"], config.get("optimizers")).items():
        own = {run_id for run_id in planned if run_id.startswith(f"{name}_")}
        if choice.selected is None or not own <= done:
            continue
        cell = choice.selected
        ids += [trial_run_id(name, cell.trial, seed) if cell.trial is not None else run_id(name, cell.lr, seed)
                for seed in seeds]
    return ids


def planned_run_ids(config: Mapping[str, Any], runs: Sequence[RunResult]) -> list[str]:
    return tuning_run_ids(config) + confirmation_run_ids(config, runs)
