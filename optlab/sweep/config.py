"""What a sweep is: its grid (optimizers × lrs × seeds), its protocol, and how it is executed."""

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from optlab import checks
from optlab.data.sources import DATASETS
from optlab.errors import OptlabError
from optlab.optimizers.registry import check_optimizer_args, optimizer_family
from optlab.problems import DEFAULT_PROBLEM, get_problem
from optlab.records.order import folder_name, grid_order
from optlab.records.run_spec import RunSpec  # also imported from here by the sweep
from optlab.schedules import SCHEDULES, check_schedule
from optlab.search.protocol import check_seed_split, confirmation_seeds, tuning_seeds
from optlab.sweep.grid import arguments_for, check_arguments, lr_choice, resolve_lr_grids
from optlab.sweep.run_claims import DEFAULT_STALE_AFTER

DEFAULT_OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "rmsprop")
# Validations per epoch a sweep that compares time to target needs: with the report's interval/√6 floor, one check
# an epoch never decides a one-epoch lead at 3 seeds; four do in 96% of simulated sweeps
# (tests/test_time_to_target.py), and finer checks add nothing there once the seeds' own spread dominates.
VAL_EVERY_FOR_TARGET = 0.25
CUDA_GRAPHS = ("auto", "on", "off")
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")  # torch.compile's

# Settings that change a run's numbers. Two sweeps that differ here must not share a folder;
# the grid axes, paths and execution settings may differ (extend a grid, move machines, shard).
PROTOCOL_FIELDS = (
    "optimizer_kwargs", "schedule", "warmup_epochs", "batch_size", "max_epochs", "dataset_source",
    "val_size", "augment", "precision", "limit_train_batches", "target_acc", "max_loss",
    "synthetic_size", "channels_last", "fused", "problem", "l2", "val_every", "limit_eval_batches",
    "search", "search_space", "search_seed", "tune_seeds",
)
# Protocol fields added later, with the value a folder recorded before them was run with: it stays resumable.
PROTOCOL_DEFAULTS = {"problem": DEFAULT_PROBLEM, "l2": 0.0, "val_every": 1.0, "limit_eval_batches": None,
                     "search": "grid", "search_space": [], "search_seed": 0, "tune_seeds": None}
ERROR_CONTROLS = ("fwer", "fdr")  # report/stats.py: Holm, Benjamini-Hochberg
SEARCHES = ("grid", "random", "qmc", "tpe")  # grid: the lrs of --lrs; the others: an Optuna study per optimizer


@dataclass
class SweepConfig:
    """Every setting of a sweep, validated before anything is written."""

    optimizers: list[str] = field(default_factory=lambda: list(DEFAULT_OPTIMIZERS))
    lrs: list[float] | str = field(default_factory=lambda: [1e-3])  # "auto"/"default" until validate() resolves
    seeds: list[int] = field(default_factory=lambda: [0])
    # Keys "KEY" go to every optimizer that takes KEY, "NAME.KEY" to optimizer NAME only.
    optimizer_kwargs: dict[str, Any] = field(default_factory=dict)
    # Per-optimizer grids and declared families: optimizers named here use their own lrs, not `lrs`.
    optimizer_lrs: dict[str, Any] = field(default_factory=dict)
    families: dict[str, str] = field(default_factory=dict)
    schedule: str = "none"
    warmup_epochs: float = 0.0
    # The problem picks the network; its defaults fill batch_size, max_epochs, augment, target_acc and l2
    # where they are left None (an explicit value, e.g. from a flag, overrides the problem's).
    problem: str = DEFAULT_PROBLEM
    batch_size: int | None = None
    max_epochs: int | None = None
    l2: float | None = None
    data_dir: str = "data"
    dataset: str = "auto"
    dataset_source: str = ""  # what `dataset` resolved to; filled in by the sweep
    val_size: int | None = None
    augment: bool | None = None
    synthetic_size: int = 10_000
    target_acc: float | None = None
    val_every: float = VAL_EVERY_FOR_TARGET  # four checks an epoch: a one-epoch lead to the target is decidable
    max_loss: float = 1e3
    name: str = "sweep"
    log_dir: str = "lightning_logs"
    accelerator: str = "auto"
    devices: str = "auto"
    strategy: str = "auto"
    num_nodes: int = 1
    precision: str = "32-true"
    limit_train_batches: float | None = None
    limit_eval_batches: int | None = None  # validation, train-subset and test batches each; None: all
    channels_last: bool = False
    compile: bool = False
    compile_mode: str = "default"
    fused: bool = False
    cuda_graphs: str = "auto"
    deterministic: bool = False
    parallel: int | str = "auto"
    concurrent_runs: int = 1  # runs planned on this run's device at once (set per worker by --parallel)
    shard: str = "1/1"
    claim_timeout: float = DEFAULT_STALE_AFTER
    restart: bool = False
    keep_checkpoints: bool = False
    report: bool = True
    progress: bool = True
    yes: bool = False  # start a grid above checks.MAX_RUNS_WITHOUT_YES runs
    # Tuning: a grid over --lrs, or an Optuna study per optimizer with the same budget of trials for each.
    search: str = "grid"
    trials: int = 8
    search_seed: int = 0  # the sampler's seed: the same seed proposes the same trials, on any machine
    search_space: list[str] = field(default_factory=list)  # overrides, NAME.PARAM=LOW:HIGH[:log]
    tune_seeds: list[int] | None = None  # a search's: None is the first of --seeds
    confirm_seeds: list[int] | None = None  # None: a search's 3 fresh seeds; a grid's none (its report splits)
    storage: str | None = None  # the studies' storage: None is a journal file in the sweep folder, or a DB URL
    error_control: str = "fwer"  # the report's correction over all its verdicts: fwer (Holm) or fdr (BH)

    def __post_init__(self) -> None:
        for key, value in get_problem(self.problem).defaults().items():
            if getattr(self, key) is None:
                setattr(self, key, value)

    @property
    def sweep_dir(self) -> Path:
        return Path(self.log_dir) / self.name

    def lr_grid(self, optimizer: str) -> list[float]:
        """The lrs this optimizer runs: its own grid, else the plain list."""
        return list(self.optimizer_lrs.get(optimizer, self.lrs))

    def optimizer_arguments(self, optimizer: str) -> dict[str, Any]:
        """The keyword arguments this optimizer's runs get (see optimizer_kwargs)."""
        return arguments_for(optimizer, self.optimizer_kwargs)

    def run_arguments(self, spec: RunSpec) -> dict[str, Any]:
        """The optimizer arguments of one run: the sweep's for its optimizer, then a trial's own on top."""
        return {**self.optimizer_arguments(spec.optimizer), **dict(spec.arguments or ())}

    def family(self, optimizer: str) -> str:
        return optimizer_family(optimizer, self.families)

    def runs(self) -> list[RunSpec]:
        """The whole grid in a fixed order (shards rely on it): optimizers interleaved, see grid_order. A search
        plans its runs as it goes (search/driver.py): it has no grid."""
        if self.search != "grid":
            return []
        grids = {name: self.lr_grid(name) for name in self.optimizers}
        return [RunSpec(*cell) for cell in grid_order(self.optimizers, grids, self.seeds)]

    @property
    def tuning_seeds(self) -> list[int]:
        return tuning_seeds(self.search, self.seeds, self.tune_seeds)

    @property
    def confirmation_seeds(self) -> list[int]:
        return confirmation_seeds(self.search, self.seeds, self.tune_seeds, self.confirm_seeds)

    def search_spaces(self) -> dict[str, tuple]:
        """Each optimizer's search space, with the --search-space overrides applied."""
        from optlab.search.spaces import override, space_for

        spaces = {name: space_for(name) for name in self.optimizers}
        for text in self.search_space:
            spaces = override(spaces, text)
        return spaces

    def shard_runs(self) -> list[RunSpec]:
        """This shard's disjoint slice of the grid: every N-th run starting at K-1."""
        index, count = parse_shard(self.shard)
        return self.runs()[index::count]

    def protocol(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        return {key: values[key] for key in PROTOCOL_FIELDS}

    def validate(self) -> None:
        """One clear error for the first bad setting; called before any file is touched."""
        check_fields(self)
        self._resolve_grid()
        self._check_search()
        searching = self.search != "grid"
        per_optimizer = (dict.fromkeys(self.optimizers, self.trials) if searching
                         else {name: len(self.lr_grid(name)) for name in self.optimizers})
        checks.grid_size(self.optimizers, per_optimizer, len(self.tuning_seeds), self.max_epochs, self.yes,
                         len(self.optimizers) * len(self.confirmation_seeds), "trials" if searching else "lrs")
        check_schedule(self.schedule, self.warmup_epochs)
        _require(self.name not in (".", "..") and "/" not in self.name,
                 f"--name must be a plain folder name, got {self.name!r}")
        parse_shard(self.shard)
        _require(self.compile or self.compile_mode == "default", "--compile-mode needs --compile")
        if self.cuda_graphs == "on":
            _require(not self.compile, "--cuda-graphs and --compile both capture graphs; choose one")
            _require(str(self.precision) in ("32-true", "32"),
                     f"--cuda-graphs runs in fp32 only (autocast caching breaks graph capture); drop --precision "
                     f"{self.precision} or --cuda-graphs")
            _require(self.strategy in ("auto", "single_device") and self.num_nodes == 1,
                     "--cuda-graphs trains one device per run; use it without --strategy and --num-nodes")
        if self.parallel != "auto" and self.parallel > 1 and self.strategy not in ("auto", "single_device"):
            raise OptlabError("--parallel runs whole Trainers side by side; use it without --strategy")

    def _check_search(self) -> None:
        check_seed_split(self.search, self.seeds, self.tune_seeds, self.confirm_seeds)
        if self.search != "grid" or self.confirm_seeds:
            _require(self.val_size != 0, "tuning chooses on validation, and --val-size 0 leaves none; drop --val-size "
                                         "0, or use a grid without --confirm-seeds")
        if self.search == "grid":
            _require(not self.search_space, "--search-space needs --search random, qmc or tpe")
            _require(self.storage is None, "--storage holds a search's studies; it needs --search random, qmc or tpe")
            return
        _require(self.shard == "1/1", "--shard slices a grid; a search spreads over processes by itself: start the "
                                      "same command in several processes (or machines, with --storage)")
        self.search_spaces()  # the overrides, checked
        if self.storage is not None:
            from optlab.search.study import check_storage

            check_storage(self.storage)

    def _resolve_grid(self) -> None:
        """lrs keywords to numbers, per-optimizer grids and arguments checked (resolved values are what sweep.json
        records)."""
        shared = self.lrs if isinstance(self.lrs, str) else lr_choice(list(self.lrs), "--lrs") if self.lrs else []
        own = {name: lr_choice(values, f"lrs of {name}") for name, values in self.optimizer_lrs.items()}
        self.lrs, self.optimizer_lrs = resolve_lr_grids(self.optimizers, shared, own)
        folders = [folder_name(name) for name in self.optimizers]
        if len(set(folders)) != len(folders):
            raise OptlabError(f"two optimizers share a folder name ({', '.join(self.optimizers)}); rename a plug-in")
        check_arguments(self.optimizers, self.optimizer_kwargs)
        for name in self.optimizers:
            grid = self.lr_grid(name)
            if not grid:
                raise OptlabError(f"no learning rate for {name!r}; give --lrs values, auto, or {name}=LR,LR")
            arguments = self.optimizer_arguments(name)
            given = {key: f"{name}.{key}" if f"{name}.{key}" in self.optimizer_kwargs else key for key in arguments}
            check_optimizer_args(name, grid[0], arguments, given)
        for name in self.families:
            if name not in self.optimizers:
                raise OptlabError(f"--families names {name!r}, which is not in --optimizers")
        for name in self.optimizers:
            self.family(name)
        _check_unique_ids(self.runs())


_FLAGS = {"optimizer_kwargs": "--optimizer-args", "optimizer_lrs": "--lrs", "report": "--no-report",
          "progress": "--no-progress-bar", "concurrent_runs": "concurrent_runs", "dataset_source": "dataset_source"}
_NAME = checks.list_of(checks.text)
_FLAG = checks.boolean
# Every setting by the kind of value it holds; a test checks that no field of SweepConfig is left out.
FIELD_CHECKS: dict[str, Any] = {
    "optimizers": _NAME, "lrs": checks.anything, "seeds": checks.list_of(checks.seed),
    # Names here; lrs and argument values are checked against each optimizer by _resolve_grid.
    "optimizer_kwargs": checks.mapping_of(checks.text, checks.anything),
    "optimizer_lrs": checks.mapping_of(checks.text, checks.anything),
    "families": checks.mapping_of(checks.text, checks.text),
    "schedule": checks.choice(SCHEDULES), "warmup_epochs": checks.non_negative_number, "problem": checks.text,
    "batch_size": checks.count, "max_epochs": checks.count, "l2": checks.non_negative_number,
    "data_dir": checks.text, "dataset": checks.choice(DATASETS), "dataset_source": checks.anything,
    "val_size": checks.optional(checks.at_least(0)), "augment": checks.optional(_FLAG),
    "synthetic_size": checks.at_least(20), "target_acc": checks.fraction, "val_every": checks.fraction,
    "max_loss": checks.positive_number, "name": checks.text, "log_dir": checks.text,
    "accelerator": checks.text, "devices": checks.devices, "strategy": checks.text, "num_nodes": checks.count,
    "precision": checks.text, "limit_train_batches": checks.optional(checks.fraction_or_count),
    "limit_eval_batches": checks.optional(checks.count),
    "channels_last": _FLAG, "compile": _FLAG, "compile_mode": checks.choice(COMPILE_MODES), "fused": _FLAG,
    "cuda_graphs": checks.choice(CUDA_GRAPHS), "deterministic": _FLAG, "parallel": checks.count_or_auto,
    "concurrent_runs": checks.count, "shard": checks.text, "claim_timeout": checks.positive_number,
    "restart": _FLAG, "keep_checkpoints": _FLAG, "report": _FLAG, "progress": _FLAG, "yes": _FLAG,
    "search": checks.choice(SEARCHES), "trials": checks.count, "search_seed": checks.seed,
    "search_space": checks.list_of(checks.text, minimum=0), "tune_seeds": checks.optional(checks.list_of(checks.seed)),
    "confirm_seeds": checks.optional(checks.list_of(checks.seed)), "storage": checks.optional(checks.text),
    "error_control": checks.choice(ERROR_CONTROLS),
}


def flag_of(field_name: str) -> str:
    """The flag that sets a field (a sweep file's key is the same without the dashes)."""
    return _FLAGS.get(field_name, "--" + field_name.replace("_", "-"))


def check_fields(config: "SweepConfig") -> None:
    """Each field's type and range, the first bad one as one line."""
    for field_name, check in FIELD_CHECKS.items():
        check(getattr(config, field_name), flag_of(field_name))


def parse_shard(text: str) -> tuple[int, int]:
    """'K/N' (1-based K) to (K-1, N), or an error saying the expected form."""
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise OptlabError(f"--shard must look like K/N (e.g. 2/4), got {text!r}") from None
    if not 1 <= k <= n:
        raise OptlabError(f"--shard K/N needs 1 <= K <= N, got {text!r}")
    return k - 1, n


def _check_unique_ids(runs: list[RunSpec]) -> None:
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


def problem_configs(values: dict[str, Any], problems: list[str]) -> list[SweepConfig]:
    """One sweep per problem from the flags' values (None: the problem's default).

    One problem keeps the usual folder, <log-dir>/<name>; several get <log-dir>/<name>/<problem> each.
    """
    checks.list_of(checks.text)(problems, "--problem")
    if len(problems) == 1:
        return [SweepConfig(**{**values, "problem": problems[0]})]
    parent = str(Path(values.get("log_dir", "lightning_logs")) / values.get("name", "sweep"))
    return [SweepConfig(**{**values, "problem": name, "log_dir": parent, "name": name}) for name in problems]
