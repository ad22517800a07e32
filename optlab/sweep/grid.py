"""The grid of a sweep: run ids and the order runs are made in. Torch-free, so the report can read it too."""

from collections.abc import Iterator, Sequence


def run_id(optimizer: str, lr: float, seed: int) -> str:
    return f"{optimizer}_lr{lr:g}_seed{seed}"


def grid_order(optimizers: Sequence[str], lrs: Sequence[float], seeds: Sequence[int]) -> Iterator[tuple]:
    """(optimizer, lr, seed) seed-major, then lr, then optimizer.

    Interleaving the optimizers spreads the slow drift of a shared machine (heat, neighbours, caches) over all
    of them instead of landing it on whichever optimizer happens to run last.
    """
    for seed in seeds:
        for lr in lrs:
            for optimizer in optimizers:
                yield optimizer, lr, seed
