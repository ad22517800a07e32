"""RunSettings: exactly what one run reads, frozen, so that a run needs nothing of the sweep that plans it."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class RunSettings:
    """The settings of one run (its spec, the grid cell, travels beside it); built by the sweep."""

    sweep_dir: Path  # the run keeps <optimizer>/<configuration>_seed<seed> in it (see paths.py)
    problem: str
    family: str
    # The run's optimizer arguments, resolved (the sweep's for its optimizer, a trial's on top), as (name, value).
    optimizer_arguments: tuple[tuple[str, Any], ...]
    search: str
    schedule: str
    warmup_epochs: float
    max_epochs: int
    batch_size: int
    l2: float
    augment: bool
    dataset_source: str
    max_loss: float
    target_acc: float
    val_every: float
    limit_train_batches: float | None
    limit_eval_batches: int | None  # validation, train-subset and test batches each; None: all
    accelerator: str
    devices: int | str | tuple[int, ...]  # a tuple of device indices is Lightning's list of them
    strategy: str
    num_nodes: int
    precision: str
    deterministic: bool
    channels_last: bool
    compile: bool
    compile_mode: str
    fused: bool
    cuda_graphs: str
    progress: bool
    concurrent_runs: int  # runs planned on this run's device at once
    world_size: int | None = None  # the sweep folder's: a run with another refuses to train; None: not checked

    @property
    def optimizer_kwargs(self) -> dict[str, Any]:
        return dict(self.optimizer_arguments)

    @property
    def trainer_devices(self) -> int | str | list[int]:
        """devices as Lightning takes them (a list, not a tuple, of indices)."""
        return list(self.devices) if isinstance(self.devices, tuple) else self.devices
