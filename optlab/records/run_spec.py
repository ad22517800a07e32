"""What one run is, named by the sweep and read by the run: optimizer, lr, seed and, for a search, its trial."""

from dataclasses import dataclass
from typing import Any

from optlab.records.order import run_id, trial_run_id

STAGES = ("grid", "tune", "confirm")  # a grid cell, a search trial at a tuning seed, a re-run on a fresh seed


@dataclass(frozen=True)
class RunSpec:
    """One Trainer: a cell of the grid, one seed of a search's trial, or a confirmation run of either."""

    optimizer: str
    lr: float
    seed: int
    stage: str = "grid"  # grid, tune or confirm (see search/protocol.py)
    trial: int | None = None  # the search trial whose configuration this run trains
    # A trial's own optimizer arguments and sampled point, as (name, value) pairs; None: the sweep's arguments.
    arguments: tuple[tuple[str, Any], ...] | None = None
    point: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ValueError(f"stage must be one of {STAGES}, got {self.stage!r}")

    @property
    def run_id(self) -> str:
        if self.trial is not None:
            return trial_run_id(self.optimizer, self.trial, self.seed)
        return run_id(self.optimizer, self.lr, self.seed)
