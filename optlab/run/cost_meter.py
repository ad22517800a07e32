"""The cost meter: a run's training and validation seconds, images, memory and optimizer-state size."""

import time
from typing import Any

import lightning as L
import torch
from lightning.pytorch.trainer.states import TrainerFn

from optlab.optimizers.registry import optimizer_state_bytes
from optlab.run.memory import peak_rss_bytes, release_freed_memory, reset_peak_rss, rss_bytes
from optlab.run.warm_up import warm_up

CHECK_EVERY = 25  # training steps between the loss monitor's host copies, and between memory readings


class CostMeter(L.Callback):
    """What a run costs: training time (validation excluded), images trained on, memory and optimizer state.

    Memory is read every `check_every` steps of an epoch, at each epoch's end and when fit ends: where the loss
    monitor copies losses to the host. Goes before the loss monitor among the callbacks, so that its clock has
    stopped when the monitor stamps a record with `train_seconds`.
    """

    def __init__(self, check_every: int = CHECK_EVERY) -> None:
        self.check_every = check_every
        self._epoch_start: float | None = None
        self._validation_start: float | None = None
        self._steps_since_reading = 0
        # Saved in checkpoints, so a resumed run keeps its totals.
        self.train_seconds = 0.0
        self.train_images = 0
        self.peak_memory_bytes = 0
        self.run_peak_memory_bytes = 0
        # This attempt only (not checkpointed): where the wall-clock of fit went.
        self.optimizer_state_bytes = 0
        self.attempt_train_seconds = 0.0
        self.validation_seconds = 0.0
        self._memory_baseline = 0
        self._peak_resets = False

    def state_dict(self) -> dict[str, Any]:
        return {"train_seconds": self.train_seconds, "train_images": self.train_images,
                "peak_memory_bytes": self.peak_memory_bytes, "run_peak_memory_bytes": self.run_peak_memory_bytes}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update(state_dict)

    def on_load_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]) -> None:
        load_split_state(self, checkpoint)

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """The baseline a run's own memory is measured from: taken after the data is in place, before training."""
        if trainer.strategy.root_device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(trainer.strategy.root_device)
            self._memory_baseline = 0
            return
        warm_up(trainer, pl_module)
        release_freed_memory()
        self._memory_baseline = rss_bytes()
        self._peak_resets = reset_peak_rss()

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._sync(trainer)
        self._epoch_start = time.perf_counter()

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        self.train_images += len(batch[1])
        self._steps_since_reading += 1
        if self._steps_since_reading >= self.check_every:
            self._record_memory(trainer)

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Validation runs inside the training epoch; its time is not training time.
        self._end_training_time(trainer)
        if not trainer.sanity_checking:
            self._validation_start = time.perf_counter()

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._validation_start is not None:
            self._sync(trainer)
            self.validation_seconds += time.perf_counter() - self._validation_start
            self._validation_start = None
        if trainer.sanity_checking or trainer.state.fn != TrainerFn.FITTING:
            return
        self._epoch_start = time.perf_counter()  # training resumes after a check inside the epoch

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._end_training_time(trainer)
        if self._steps_since_reading:
            self._record_memory(trainer)

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.optimizer_state_bytes = optimizer_state_bytes(trainer.optimizers[0])
        self._record_memory(trainer)

    def _memory(self, trainer: L.Trainer) -> int:
        device = trainer.strategy.root_device
        if device.type == "cuda":
            return torch.cuda.max_memory_allocated(device)
        peak = peak_rss_bytes() if self._peak_resets else None
        return max(peak or 0, rss_bytes())

    def _record_memory(self, trainer: L.Trainer) -> None:
        """Process peak (as before) and this run's own peak: its growth over the baseline taken at its start."""
        self._steps_since_reading = 0
        memory = self._memory(trainer)
        self.peak_memory_bytes = max(self.peak_memory_bytes, memory)
        self.run_peak_memory_bytes = max(self.run_peak_memory_bytes, memory - self._memory_baseline)

    def _sync(self, trainer: L.Trainer) -> None:
        if trainer.strategy.root_device.type == "cuda":
            torch.cuda.synchronize(trainer.strategy.root_device)

    def _end_training_time(self, trainer: L.Trainer) -> None:
        if self._epoch_start is not None:
            self._sync(trainer)
            elapsed = time.perf_counter() - self._epoch_start
            self.train_seconds += elapsed
            self.attempt_train_seconds += elapsed
            self._epoch_start = None


# The state key under which checkpoints written before the loss monitor and the cost meter were split hold both.
SHARED_STATE_KEY = "RunMonitor"


def load_split_state(callback: L.Callback, checkpoint: dict[str, Any]) -> None:
    """Resume from a checkpoint of the one callback these two were: each takes its own fields from it."""
    states = checkpoint.get("callbacks", {})
    if callback.state_key not in states and SHARED_STATE_KEY in states:
        shared = states[SHARED_STATE_KEY]
        callback.load_state_dict({key: shared[key] for key in callback.state_dict() if key in shared})
