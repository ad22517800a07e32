"""The typed record of `results/<run_id>.json` (docs/results-schema.md), and of `results.json`.

Older layouts are read here and nowhere else: a field added after a folder was made gets the value its runs
were made with (see `legacy`), and is not written back, so a file read and written again stays as it was.
"""

from dataclasses import dataclass

from optlab.records.typed import JsonRecord

SGD, ADAPTIVE = "sgd", "adaptive"  # the two families the seed text's claims compare
# Families of the optimizers that existed before results recorded their own `family`.
FAMILY_BY_NAME = {
    **{name: SGD for name in ("sgd", "momentum", "nesterov")},
    **{name: ADAPTIVE for name in ("adam", "adamw", "rmsprop", "adagrad", "adadelta", "adamax", "nadam", "radam")},
}


@dataclass(frozen=True)
class EpochRecord(JsonRecord):
    """One training epoch: steps and training seconds so far, and the validation at its end."""

    epoch: int
    step: int
    train_seconds: float
    train_loss: float | None
    lr: float
    train_acc: float | None = None
    val_loss: float | None = None
    val_acc: float | None = None


@dataclass(frozen=True)
class ValCheck(JsonRecord):
    """One validation during training, at a fractional epoch."""

    epoch: float
    step: int
    train_seconds: float
    val_loss: float | None = None
    val_acc: float | None = None


@dataclass(frozen=True)
class TargetReached(JsonRecord):
    """The first validation that reached the target accuracy."""

    epoch: float
    step: int
    seconds: float


@dataclass(frozen=True)
class TargetCrossing(JsonRecord):
    """Where the validation curve crossed the target, interpolated between the two checks around it."""

    epoch: float
    step: float
    seconds: float


@dataclass(frozen=True)
class RunResult(JsonRecord):
    """One finished run: its grid cell, settings, outcome, costs and curves, as the runner writes it."""

    run_id: str
    optimizer: str
    lr: float
    seed: int
    optimizer_kwargs: dict
    schedule: str
    batch_size: int
    precision: str
    accelerator: str
    augment: bool
    resumed: bool
    initial_weights: str
    diverged: bool
    diverged_step: int | None
    last_finite_loss: float | None
    test_acc: float
    test_loss: float
    train_seconds: float
    train_images: int
    optimizer_state_bytes: int | None
    peak_memory_bytes: int | None
    peak_memory_kind: str
    epochs: tuple[EpochRecord, ...]
    epochs_run: int
    steps: int
    final_val_acc: float | None
    best_val_acc: float | None
    best_val_epoch: int | None
    running_train_acc_last_epoch: float | None
    final_train_loss: float | None
    time_to_target: TargetReached | None
    loss_std_last_epoch: float | None
    loss_spikes: int
    train_loss_curve: list
    final_train_acc: float | None
    images_per_second: float | None
    seconds_per_epoch: float
    generalization_gap: float | None
    # Fields added later: `legacy` gives the value a run recorded before them was made with.
    world_size: int = 1
    effective_batch_size: int = 0
    status: str = ""
    family: str | None = None
    problem: str = "seed_cnn"
    l2: float = 0.0
    augmentation: str | None = None
    deterministic: bool = False
    cuda_graphs: bool = False
    concurrent_runs: int = 1
    run_peak_memory_bytes: int | None = None
    run_peak_memory_kind: str | None = None
    val_every: float = 1.0
    val_checks: tuple[ValCheck, ...] = ()
    phase_seconds: dict | None = None
    time_to_target_interpolated: TargetCrossing | None = None
    stage: str = "grid"  # grid, tune or confirm
    trial: int | None = None
    search: str = "grid"
    search_point: dict | None = None

    legacy = {
        "effective_batch_size": lambda raw: raw["batch_size"] * raw.get("world_size", 1),
        "status": lambda raw: "diverged" if raw.get("diverged") else "finished",
        "family": lambda raw: FAMILY_BY_NAME.get(raw.get("optimizer")),
        "run_peak_memory_bytes": lambda raw: raw.get("peak_memory_bytes"),
        "run_peak_memory_kind": lambda raw: raw.get("peak_memory_kind"),
    }

    @property
    def validations(self) -> tuple[EpochRecord | ValCheck, ...]:
        """Every validation of the run: the finer checks where recorded, else one per epoch."""
        return self.val_checks or self.epochs

    @property
    def reached(self) -> bool:
        """Whether any validation reached the sweep's target accuracy."""
        return self.time_to_target is not None

    @property
    def first_epoch_steps(self) -> int | None:
        """Steps at the end of the first epoch (a full epoch's, unless the run diverged within it)."""
        return self.epochs[0].step if self.epochs else None

    @property
    def timing_conditions(self) -> tuple:
        """What a timing depends on besides the optimizer: device kind and count, precision, concurrent runs, and
        the kernels' settings; two runs' seconds compare only when these are equal."""
        return (self.accelerator, self.world_size, self.precision, self.concurrent_runs, self.deterministic,
                self.cuda_graphs)

    def recorded(self, name: str) -> bool:
        """Whether the file holds the field itself, rather than the value an older layout's runs were made with."""
        return name not in self.filled


@dataclass(frozen=True)
class ResultsFile(JsonRecord):
    """`results.json`: every result of the folder, and the planned runs without one yet."""

    runs: tuple[RunResult, ...]
    missing: tuple[str, ...] = ()
