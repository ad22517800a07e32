"""The warnings a sweep prints once its settings are valid, before any run: what its report could not decide."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from optlab.sweep.config import SweepConfig


def warn_before_training(config: "SweepConfig") -> None:
    """The warnings a sweep prints before it trains: too few seeds to decide, lrs far from an optimizer's scale."""
    from optlab.report.formatting import count_text
    from optlab.report.selection import split_seeds
    from optlab.report.stats import MIN_SEEDS
    from optlab.sweep.ranks import say

    several = config.search != "grid" or any(len(config.lr_grid(name)) > 1 for name in config.optimizers)
    judged = config.confirmation_seeds or (split_seeds(config.seeds)[1] if several else config.seeds)
    if len(config.optimizers) > 1 and not config.confirmation_seeds and several and len(config.seeds) < 2 * MIN_SEEDS:
        say(f"warning: {count_text(len(config.seeds), 'seed')} and several lrs: the report chooses each lr on the "
            f"first seeds and compares on the others, and needs {MIN_SEEDS} of those; add --confirm-seeds (e.g. 100 "
            f"101 102) or use {2 * MIN_SEEDS} --seeds")
    elif len(config.optimizers) > 1 and len(judged) < MIN_SEEDS:
        say(f"warning: {count_text(len(judged), 'seed')}: the report needs at least {MIN_SEEDS} paired seeds to call "
            f"any difference between optimizers; add --seeds, e.g. --seeds 0 1 2")
    else:
        from optlab.report.power import planned_comparisons, seed_warning

        families = {name: config.family(name) for name in config.optimizers}
        if warning := seed_warning(len(config.optimizers), len(judged),
                                   planned_comparisons(config.optimizers, families)):
            say(warning)
    from optlab.sweep.grid import off_scale_lrs

    if config.search == "grid" and (off_scale := off_scale_lrs(config.optimizers, config.lrs, config.optimizer_lrs)):
        say(off_scale)
