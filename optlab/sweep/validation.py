"""SweepConfig.validate(): each field's check, then the checks across fields (grids, search, hardware), as one line.

It runs once, where the settings enter (scripts/sweep.py's main, or a caller that builds a SweepConfig itself),
before anything is written; its only change to the settings is the grids resolved to numbers.
"""

from typing import TYPE_CHECKING

from optlab import checks
from optlab.errors import OptlabError
from optlab.optimizers.registry import check_optimizer_args
from optlab.records.order import folder_name
from optlab.schedules import check_schedule
from optlab.search.protocol import check_seed_split
from optlab.sweep.grid import check_arguments, lr_choice, resolve_lr_grids
from optlab.sweep.schema import check_fields

if TYPE_CHECKING:
    from optlab.sweep.config import RunSpec, SweepConfig


def validate(config: "SweepConfig") -> None:
    """One clear error for the first bad setting: each field's check (sweep/schema.py), then how they fit together."""
    check_fields(config)
    _resolve_grid(config)
    _check_search(config)
    searching = config.search != "grid"
    per_optimizer = (dict.fromkeys(config.optimizers, config.trials) if searching
                     else {name: len(config.lr_grid(name)) for name in config.optimizers})
    checks.grid_size(config.optimizers, per_optimizer, len(config.tuning_seeds), config.max_epochs, config.yes,
                     len(config.optimizers) * len(config.confirmation_seeds), "trials" if searching else "lrs")
    check_schedule(config.schedule, config.warmup_epochs)
    check_name(config.name)
    parse_shard(config.shard)
    _require(config.compile or config.compile_mode == "default", "--compile-mode needs --compile")
    if config.cuda_graphs == "on":
        _require(not config.compile, "--cuda-graphs and --compile both capture graphs; choose one")
        _require(str(config.precision) in ("32-true", "32"),
                 f"--cuda-graphs runs in fp32 only (autocast caching breaks graph capture); drop --precision "
                 f"{config.precision} or --cuda-graphs")
        _require(config.strategy in ("auto", "single_device") and config.num_nodes == 1,
                 "--cuda-graphs trains one device per run; use it without --strategy and --num-nodes")
    if config.parallel != "auto" and config.parallel > 1 and config.strategy not in ("auto", "single_device"):
        raise OptlabError("--parallel runs whole Trainers side by side; use it without --strategy")


def _check_search(config: "SweepConfig") -> None:
    check_seed_split(config.search, config.seeds, config.tune_seeds, config.confirm_seeds)
    if config.search != "grid" or config.confirm_seeds:
        _require(config.val_size != 0, "tuning chooses on validation, and --val-size 0 leaves none; drop "
                                       "--val-size 0, or use a grid without --confirm-seeds")
    if config.search == "grid":
        _require(not config.search_space, "--search-space needs --search random, qmc or tpe")
        _require(config.storage is None, "--storage holds a search's studies; it needs --search random, qmc or tpe")
        return
    _require(config.shard == "1/1", "--shard slices a grid; a search spreads over processes by itself: start "
                                    "the same command in several processes (or machines, with --storage)")
    config.search_spaces()  # the overrides, checked
    if config.storage is not None:
        from optlab.search.study import check_storage

        check_storage(config.storage)


def _resolve_grid(config: "SweepConfig") -> None:
    """lrs keywords to numbers, per-optimizer grids and arguments checked (resolved values are what sweep.json
    records)."""
    shared = config.lrs if isinstance(config.lrs, str) else lr_choice(list(config.lrs), "--lrs") if config.lrs else []
    own = {name: lr_choice(values, f"lrs of {name}") for name, values in config.optimizer_lrs.items()}
    config.lrs, config.optimizer_lrs = resolve_lr_grids(config.optimizers, shared, own)
    folders = [folder_name(name) for name in config.optimizers]
    if len(set(folders)) != len(folders):
        raise OptlabError(f"two optimizers share a folder name ({', '.join(config.optimizers)}); rename a plug-in")
    check_arguments(config.optimizers, config.optimizer_kwargs)
    for name in config.optimizers:
        grid = config.lr_grid(name)
        if not grid:
            raise OptlabError(f"no learning rate for {name!r}; give --lrs values, auto, or {name}=LR,LR")
        arguments = config.optimizer_arguments(name)
        given = {key: f"{name}.{key}" if f"{name}.{key}" in config.optimizer_kwargs else key for key in arguments}
        check_optimizer_args(name, grid[0], arguments, given)
    for name in config.families:
        if name not in config.optimizers:
            raise OptlabError(f"--families names {name!r}, which is not in --optimizers")
    for name in config.optimizers:
        config.family(name)
    check_unique_ids(config.runs())


def check_name(name: str) -> None:
    """--name is one folder inside --log-dir (several problems each get a folder inside it, too)."""
    _require(name not in (".", "..") and "/" not in name, f"--name must be a plain folder name, got {name!r}")


def parse_shard(text: str) -> tuple[int, int]:
    """'K/N' (1-based K) to (K-1, N), or an error saying the expected form."""
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise OptlabError(f"--shard must look like K/N (e.g. 2/4), got {text!r}") from None
    if not 1 <= k <= n:
        raise OptlabError(f"--shard K/N needs 1 <= K <= N, got {text!r}")
    return k - 1, n


def check_unique_ids(runs: list["RunSpec"]) -> None:
    """A safety net under run_id: two cells of one grid must never share a results file."""
    seen: dict[str, RunSpec] = {}
    for spec in runs:
        other = seen.setdefault(spec.run_id, spec)
        if other is not spec:
            raise OptlabError(f"{other.optimizer} lr {other.lr!r} and lr {spec.lr!r} (seed {spec.seed}) would share "
                              f"the run id {spec.run_id}; give each lr once")


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise OptlabError(message)
