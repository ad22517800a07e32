"""What a sweep is: its grid (optimizers × lrs × seeds), its protocol, and how it is executed."""

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from optlab.errors import OptlabError
from optlab.optimizers.registry import check_optimizer_args
from optlab.schedules import check_schedule
from optlab.sweep.grid import grid_order, run_id

DEFAULT_OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "rmsprop")
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")  # torch.compile's

# Settings that change a run's numbers. Two sweeps that differ here must not share a folder;
# the grid axes, paths and execution settings may differ (extend a grid, move machines, shard).
PROTOCOL_FIELDS = (
    "optimizer_kwargs", "schedule", "warmup_epochs", "batch_size", "max_epochs", "dataset_source",
    "val_size", "augment", "precision", "limit_train_batches", "target_acc", "max_loss",
    "synthetic_size", "channels_last", "fused", "val_every",
)
# Protocol fields added later, with the value a folder made before them was run with.
PROTOCOL_DEFAULTS = {"val_every": 1.0}


@dataclass(frozen=True)
class RunSpec:
    """One cell of the grid: one Trainer."""

    optimizer: str
    lr: float
    seed: int

    @property
    def run_id(self) -> str:
        return run_id(self.optimizer, self.lr, self.seed)


@dataclass
class SweepConfig:
    """Every setting of a sweep, validated before anything is written."""

    optimizers: list[str] = field(default_factory=lambda: list(DEFAULT_OPTIMIZERS))
    lrs: list[float] = field(default_factory=lambda: [1e-3])
    seeds: list[int] = field(default_factory=lambda: [0])
    optimizer_kwargs: dict[str, Any] = field(default_factory=dict)
    schedule: str = "none"
    warmup_epochs: float = 0.0
    batch_size: int = 64
    max_epochs: int = 10
    data_dir: str = "data"
    dataset: str = "auto"
    dataset_source: str = ""  # what `dataset` resolved to; filled in by the sweep
    val_size: int | None = None
    augment: bool = False
    synthetic_size: int = 10_000
    target_acc: float = 0.6
    val_every: float = 1.0
    max_loss: float = 1e3
    name: str = "sweep"
    log_dir: str = "lightning_logs"
    accelerator: str = "auto"
    devices: str = "auto"
    strategy: str = "auto"
    num_nodes: int = 1
    precision: str = "32-true"
    limit_train_batches: float | None = None
    channels_last: bool = False
    compile: bool = False
    compile_mode: str = "default"
    fused: bool = False
    parallel: int | str = "auto"
    shard: str = "1/1"
    restart: bool = False
    keep_checkpoints: bool = False
    report: bool = True
    progress: bool = True

    @property
    def sweep_dir(self) -> Path:
        return Path(self.log_dir) / self.name

    def runs(self) -> list[RunSpec]:
        """The whole grid in a fixed order (shards rely on it): optimizers interleaved, see grid_order."""
        return [RunSpec(*cell) for cell in grid_order(self.optimizers, self.lrs, self.seeds)]

    def shard_runs(self) -> list[RunSpec]:
        """This shard's disjoint slice of the grid: every N-th run starting at K-1."""
        index, count = parse_shard(self.shard)
        return self.runs()[index::count]

    def protocol(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        return {key: values[key] for key in PROTOCOL_FIELDS}

    def validate(self) -> None:
        """One clear error for the first bad setting; called before any file is touched."""
        if not self.optimizers:
            raise OptlabError("--optimizers needs at least one name")
        if not self.lrs:
            raise OptlabError("--lr needs at least one value")
        for lr in self.lrs:
            if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
                raise OptlabError(f"learning rate must be a number > 0, got {lr!r}")
        for name in self.optimizers:
            check_optimizer_args(name, self.lrs[0], self.optimizer_kwargs)
        check_schedule(self.schedule, self.warmup_epochs)
        if len(set(self.optimizers)) != len(self.optimizers) or len(set(self.lrs)) != len(self.lrs) \
                or len(set(self.seeds)) != len(self.seeds):
            raise OptlabError("--optimizers, --lr and --seeds must not repeat a value")
        _require(self.batch_size >= 1, f"--batch-size must be >= 1, got {self.batch_size}")
        _require(self.max_epochs >= 1, f"--max-epochs must be >= 1, got {self.max_epochs}")
        _require(self.val_size is None or self.val_size >= 0, f"--val-size must be >= 0, got {self.val_size}")
        _require(0 < self.target_acc <= 1, f"--target-acc must be in (0, 1], got {self.target_acc}")
        _require(0 < self.val_every <= 1, f"--val-every must be a fraction of an epoch in (0, 1], got {self.val_every}")
        _require(self.parallel == "auto" or (isinstance(self.parallel, int) and self.parallel >= 1),
                 f"--parallel must be a count >= 1 or auto, got {self.parallel!r}")
        _require(self.num_nodes >= 1, f"--num-nodes must be >= 1, got {self.num_nodes}")
        _require(self.synthetic_size >= 20, f"--synthetic-size must be >= 20, got {self.synthetic_size}")
        if self.limit_train_batches is not None:
            _require(self.limit_train_batches > 0, f"--limit-train-batches must be > 0, got {self.limit_train_batches}")
        _require(self.name and "/" not in self.name and self.name not in (".", ".."),
                 f"--name must be a plain folder name, got {self.name!r}")
        parse_shard(self.shard)
        _require(self.compile_mode in COMPILE_MODES,
                 f"--compile-mode must be one of {', '.join(COMPILE_MODES)}, got {self.compile_mode!r}")
        _require(self.compile or self.compile_mode == "default", "--compile-mode needs --compile")
        if self.parallel != "auto" and self.parallel > 1 and self.strategy not in ("auto", "single_device"):
            raise OptlabError("--parallel runs whole Trainers side by side; use it without --strategy")


def parse_shard(text: str) -> tuple[int, int]:
    """'K/N' (1-based K) to (K-1, N), or an error saying the expected form."""
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise OptlabError(f"--shard must look like K/N (e.g. 2/4), got {text!r}") from None
    if not 1 <= k <= n:
        raise OptlabError(f"--shard K/N needs 1 <= K <= N, got {text!r}")
    return k - 1, n


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise OptlabError(message)
