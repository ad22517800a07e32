"""The grid's run ids and the order runs are made in. Torch-free, so the report can read it too."""

import re
from collections.abc import Iterator, Mapping, Sequence


def folder_name(optimizer: str) -> str:
    """A name safe for folders and file names: registry names as they are, plug-in paths with - for / and :."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", optimizer).strip(".-") or "optimizer"


def lr_text(lr: float) -> str:
    """The lr as run ids spell it: the short `:g` text where it reads back as the same number (every id made
    before this rule), else repr, the shortest text that does, so two distinct lrs never share an id."""
    short = f"{lr:g}"
    return short if float(short) == lr else repr(float(lr))


def run_id(optimizer: str, lr: float, seed: int) -> str:
    return f"{folder_name(optimizer)}_lr{lr_text(lr)}_seed{seed}"


def grid_order(optimizers: Sequence[str], lr_grids: Mapping[str, Sequence[float]],
               seeds: Sequence[int]) -> Iterator[tuple]:
    """(optimizer, lr, seed) seed-major, then the lr's place in each optimizer's own grid, then optimizer.

    Interleaving the optimizers spreads the slow drift of a shared machine (heat, neighbours, caches) over all
    of them instead of landing it on whichever optimizer happens to run last.
    """
    longest = max((len(lr_grids[name]) for name in optimizers), default=0)
    for seed in seeds:
        for position in range(longest):
            for optimizer in optimizers:
                grid = lr_grids[optimizer]
                if position < len(grid):
                    yield optimizer, grid[position], seed


def trial_run_id(optimizer: str, trial: int, seed: int) -> str:
    """A search trial's run at one seed (a tuning or a confirmation seed): the trial number names its point."""
    return f"{folder_name(optimizer)}_trial{trial}_seed{seed}"
