"""Which seeds tune and which confirm: the split that keeps every verdict off the seeds that chose.

A search tunes each optimizer on its tuning seeds (by default the first of --seeds) and re-runs the best
configuration on confirmation seeds it never saw (by default the three seeds after the largest tuning seed). A
grid tunes on --seeds; given --confirm-seeds it confirms the same way, and without them the report splits
--seeds into seeds that select and seeds that judge (see report/selection.py).
"""

from collections.abc import Sequence

from optlab.errors import OptlabError

CONFIRM_SEEDS = 3  # the fewest confirmation seeds a paired comparison can decide on (report/stats.MIN_SEEDS)


def tuning_seeds(search: str, seeds: Sequence[int], tune_seeds: Sequence[int] | None) -> list[int]:
    """The seeds configurations are chosen on: a grid's --seeds; a search's --tune-seeds or the first of --seeds."""
    if search == "grid":
        return list(seeds)
    return list(tune_seeds) if tune_seeds else list(seeds[:1])


def confirmation_seeds(search: str, seeds: Sequence[int], tune_seeds: Sequence[int] | None,
                       confirm_seeds: Sequence[int] | None) -> list[int]:
    """The seeds verdicts rest on: --confirm-seeds, or for a search the 3 after its largest tuning seed; a grid
    without --confirm-seeds has none (its report splits --seeds instead)."""
    if confirm_seeds:
        return list(confirm_seeds)
    if search == "grid":
        return []
    last = max(tuning_seeds(search, seeds, tune_seeds))
    return list(range(last + 1, last + 1 + CONFIRM_SEEDS))


def check_seed_split(search: str, seeds: Sequence[int], tune_seeds: Sequence[int] | None,
                     confirm_seeds: Sequence[int] | None) -> None:
    """Refuse a split that could compare on the seeds that chose, or that could never decide."""
    if search == "grid" and tune_seeds:
        raise OptlabError("--tune-seeds is for --search random|qmc|tpe; a grid selects on --seeds")
    tune = tuning_seeds(search, seeds, tune_seeds)
    if len(set(tune)) != len(tune):
        raise OptlabError(f"the tuning seeds repeat a seed: {tune}; give each seed once")
    if confirm_seeds is None:
        return
    confirm = list(confirm_seeds)
    if len(set(confirm)) != len(confirm):
        raise OptlabError(f"--confirm-seeds repeats a seed: {confirm}; give each seed once")
    if len(confirm) < CONFIRM_SEEDS:
        raise OptlabError(f"--confirm-seeds needs at least {CONFIRM_SEEDS} seeds (a paired comparison decides "
                          f"nothing on fewer), got {len(confirm)}: e.g. --confirm-seeds 100 101 102")
    shared = sorted(set(confirm) & set(tune))
    if shared:
        which = "--seeds" if search == "grid" else "the tuning seeds"
        raise OptlabError(f"--confirm-seeds {' '.join(map(str, shared))} also {'is' if len(shared) == 1 else 'are'} "
                          f"among {which} ({' '.join(map(str, tune))}): confirmation seeds must be fresh, so that "
                          "no verdict rests on a seed that chose; pick others")
