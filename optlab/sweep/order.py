"""The grid's run ids and the order runs are made in. Torch-free, so the report can read it too."""

import re
from collections.abc import Iterator, Mapping, Sequence


def folder_name(optimizer: str) -> str:
    """A name safe for folders and file names: registry names as they are, plug-in paths with - for / and :."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", optimizer).strip(".-") or "optimizer"


def run_id(optimizer: str, lr: float, seed: int) -> str:
    return f"{folder_name(optimizer)}_lr{lr:g}_seed{seed}"


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
