"""A callback that watches a run: step losses, divergence, training time and memory, per-epoch records."""

import math
import time
from typing import Any

import lightning as L
import torch
from lightning.pytorch.trainer.states import TrainerFn

from optlab.memory import peak_rss_bytes, release_freed_memory, reset_peak_rss, rss_bytes
from optlab.optimizers.registry import optimizer_state_bytes
from optlab.warm_up import warm_up


def divergence_index(losses: list[float], max_loss: float) -> int | None:
    """Where a window of step losses diverged, or None.

    A non-finite loss always counts. Losses above max_loss count only when they are most of the window:
    a lone spike that the optimizer recovers from is instability (see loss_spikes), not divergence.
    """
    bad = [i for i, loss in enumerate(losses) if not math.isfinite(loss) or loss > max_loss]
    if not bad:
        return None
    if any(not math.isfinite(loss) for loss in losses) or 2 * len(bad) > len(losses):
        return bad[0]
    return None


class RunMonitor(L.Callback):
    """Collects what the results and the report need, with one host sync every `check_every` steps."""

    def __init__(self, check_every: int = 25, max_loss: float = 1e3) -> None:
        self.check_every = check_every
        self.max_loss = max_loss
        self._pending: list[torch.Tensor] = []
        self._epoch_start: float | None = None
        # Everything below is saved in checkpoints, so a resumed run keeps its history.
        self.step_losses: list[float] = []
        self.epochs: list[dict[str, Any]] = []
        self.val_checks: list[dict[str, Any]] = []
        self.train_seconds = 0.0
        self.train_images = 0
        self.diverged_step: int | None = None
        self.last_finite_loss: float | None = None
        self.peak_memory_bytes = 0
        self.run_peak_memory_bytes = 0
        self.optimizer_state_bytes = 0
        # This attempt only (not checkpointed): where the wall-clock of fit went.
        self.attempt_train_seconds = 0.0
        self.validation_seconds = 0.0
        self._validation_start: float | None = None
        self._memory_baseline = 0
        self._peak_resets = False

    @property
    def diverged(self) -> bool:
        return self.diverged_step is not None

    def state_dict(self) -> dict[str, Any]:
        return {
            "step_losses": self.step_losses,
            "epochs": self.epochs,
            "val_checks": self.val_checks,
            "train_seconds": self.train_seconds,
            "train_images": self.train_images,
            "diverged_step": self.diverged_step,
            "last_finite_loss": self.last_finite_loss,
            "peak_memory_bytes": self.peak_memory_bytes,
            "run_peak_memory_bytes": self.run_peak_memory_bytes,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update(state_dict)

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
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        self._pending.append(loss.detach().float())
        self.train_images += len(batch[1])
        if len(self._pending) >= self.check_every:
            self._flush(trainer)

    def _flush(self, trainer: L.Trainer) -> None:
        """Move pending losses to the host in one copy; stop the run at the first non-finite or huge one."""
        if not self._pending:
            return
        stacked = torch.stack(self._pending)
        if trainer.world_size > 1:
            # Each rank saw its shard of the global batch; the mean is the loss of the whole batch.
            stacked = trainer.strategy.reduce(stacked, reduce_op="mean")
        losses = stacked.cpu().tolist()
        self._pending.clear()
        first_step = len(self.step_losses)
        self.step_losses.extend(losses)
        self._log_step_losses(trainer, first_step, losses)
        self._record_memory(trainer)
        if not self.diverged:
            bad = divergence_index(losses, self.max_loss)
            if bad is not None:
                self.diverged_step = first_step + bad + 1
            finite = [loss for loss in losses[:bad] if math.isfinite(loss)]
            self.last_finite_loss = finite[-1] if finite else self.last_finite_loss
        # Every rank flushes at the same steps, so this collective never waits on a rank that skipped it.
        if trainer.strategy.reduce_boolean_decision(self.diverged, all=False):
            trainer.should_stop = True

    def _log_step_losses(self, trainer: L.Trainer, first_step: int, losses: list[float]) -> None:
        """Every step's loss to the loggers, written at flush time.

        A per-step `self.log` in training_step costs most of a millisecond of host time per step (Lightning's
        result bookkeeping), a third of a whole step of this network on a GPU; the losses are on the host
        here anyway, already averaged over ranks under DDP.
        """
        if not trainer.is_global_zero:
            return
        for logger in trainer.loggers:
            for offset, loss in enumerate(losses):
                logger.log_metrics({"train/loss": loss}, step=first_step + offset)

    def _memory(self, trainer: L.Trainer) -> int:
        device = trainer.strategy.root_device
        if device.type == "cuda":
            return torch.cuda.max_memory_allocated(device)
        peak = peak_rss_bytes() if self._peak_resets else None
        return max(peak or 0, rss_bytes())

    def _record_memory(self, trainer: L.Trainer) -> None:
        """Process peak (as before) and this run's own peak: its growth over the baseline taken at its start."""
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

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Validation runs inside the training epoch; its time is not training time.
        self._end_training_time(trainer)
        if not trainer.sanity_checking:
            self._validation_start = time.perf_counter()

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Every validation during fit, with where it happened: time to target is resolved to these checks."""
        if self._validation_start is not None:
            self._sync(trainer)
            self.validation_seconds += time.perf_counter() - self._validation_start
            self._validation_start = None
        if trainer.sanity_checking or trainer.state.fn != TrainerFn.FITTING:
            return
        metrics = trainer.callback_metrics
        batches = trainer.num_training_batches
        done = trainer.fit_loop.epoch_loop.batch_progress.current.completed
        check = {"epoch": round(trainer.current_epoch + (done / batches if batches else 1.0), 4),
                 "step": trainer.global_step, "train_seconds": self.train_seconds}
        for key, name in (("val/loss", "val_loss"), ("val/acc", "val_acc")):
            if key in metrics:
                check[name] = float(metrics[key])
        self.val_checks.append(check)
        self._epoch_start = time.perf_counter()  # training resumes after a check inside the epoch

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._end_training_time(trainer)
        self._flush(trainer)
        metrics = trainer.callback_metrics
        epoch_losses = self.step_losses[self._epoch_first_step():]
        record = {
            "epoch": trainer.current_epoch + 1,
            "step": len(self.step_losses),
            "train_seconds": self.train_seconds,
            "train_loss": sum(epoch_losses) / len(epoch_losses) if epoch_losses else None,
            "lr": trainer.optimizers[0].param_groups[0]["lr"],
        }
        # The epoch's train accuracy is not in callback_metrics until after this hook.
        record["train_acc"] = float(pl_module.train_acc.compute())
        for key, name in (("val/loss", "val_loss"), ("val/acc", "val_acc")):
            if key in metrics:
                record[name] = float(metrics[key])
        self.epochs.append(record)
        pl_module.log("train/epoch_loss", record["train_loss"] or float("nan"), on_epoch=True, sync_dist=True)
        pl_module.log("train/lr", record["lr"], on_epoch=True)

    def _epoch_first_step(self) -> int:
        return self.epochs[-1]["step"] if self.epochs else 0

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._flush(trainer)
        self.optimizer_state_bytes = optimizer_state_bytes(trainer.optimizers[0])
        self._record_memory(trainer)
