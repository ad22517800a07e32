"""The loss monitor: every step's loss, divergence, and the run's records per epoch and per validation."""

import math
from typing import Any

import lightning as L
import torch
from lightning.pytorch.trainer.states import TrainerFn

from optlab.run.cost_meter import CHECK_EVERY, CostMeter, load_split_state


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


class LossMonitor(L.Callback):
    """Step losses, divergence and the per-epoch and per-validation records, with one host sync every
    `check_every` steps. Records carry the training seconds so far, read from `meter`, the run's CostMeter
    (a fresh one unless given), which build_trainer places before this callback."""

    def __init__(self, check_every: int = CHECK_EVERY, max_loss: float = 1e3, meter: CostMeter | None = None) -> None:
        self.check_every = check_every
        self.max_loss = max_loss
        self.meter = meter if meter is not None else CostMeter(check_every)
        self._pending: list[torch.Tensor] = []
        # Everything below is saved in checkpoints, so a resumed run keeps its history.
        self.step_losses: list[float] = []
        self.epochs: list[dict[str, Any]] = []
        self.val_checks: list[dict[str, Any]] = []
        self.diverged_step: int | None = None
        self.last_finite_loss: float | None = None

    @property
    def diverged(self) -> bool:
        return self.diverged_step is not None

    def state_dict(self) -> dict[str, Any]:
        return {"step_losses": self.step_losses, "epochs": self.epochs, "val_checks": self.val_checks,
                "diverged_step": self.diverged_step, "last_finite_loss": self.last_finite_loss}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update(state_dict)

    def on_load_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]) -> None:
        load_split_state(self, checkpoint)

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        self._pending.append(loss.detach().float())
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

        Not the module's per-step `self.log`: Lightning's result bookkeeping costs it host time on every step
        (BENCHMARKS.md, "train/loss: self.log or the loss monitor"), and under DDP the global-batch mean would
        take an all-reduce per step (sync_dist). Here the losses are on the host anyway, already averaged.
        """
        if not trainer.is_global_zero:
            return
        for logger in trainer.loggers:
            for offset, loss in enumerate(losses):
                logger.log_metrics({"train/loss": loss}, step=first_step + offset)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Every validation during fit, with where it happened: time to target is resolved to these checks."""
        if trainer.sanity_checking or trainer.state.fn != TrainerFn.FITTING:
            return
        metrics = trainer.callback_metrics
        batches = trainer.num_training_batches
        done = trainer.fit_loop.epoch_loop.batch_progress.current.completed
        check = {"epoch": round(trainer.current_epoch + (done / batches if batches else 1.0), 4),
                 "step": trainer.global_step, "train_seconds": self.meter.train_seconds}
        for key, name in (("val/loss", "val_loss"), ("val/acc", "val_acc")):
            if key in metrics:
                check[name] = float(metrics[key])
        self.val_checks.append(check)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._flush(trainer)
        metrics = trainer.callback_metrics
        epoch_losses = self.step_losses[self._epoch_first_step():]
        record = {
            "epoch": trainer.current_epoch + 1,
            "step": len(self.step_losses),
            "train_seconds": self.meter.train_seconds,
            "train_loss": sum(epoch_losses) / len(epoch_losses) if epoch_losses else None,
            "lr": trainer.optimizers[0].param_groups[0]["lr"],
        }
        for key, name in (("train/acc", "train_acc"), ("val/loss", "val_loss"), ("val/acc", "val_acc")):
            if key in metrics:
                record[name] = float(metrics[key])
        self.epochs.append(record)
        pl_module.log("train/epoch_loss", record["train_loss"] or float("nan"), on_epoch=True, sync_dist=True)
        pl_module.log("train/lr", record["lr"], on_epoch=True)

    def _epoch_first_step(self) -> int:
        return self.epochs[-1]["step"] if self.epochs else 0

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._flush(trainer)
