"""A run's Trainer and LightningModule, built from its RunSettings, and the callbacks only a run's Trainer has."""

import logging
import multiprocessing
import warnings
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint, TQDMProgressBar
from lightning.pytorch.loggers import TensorBoardLogger

from optlab.records.run_spec import RunSpec
from optlab.run import interrupts
from optlab.run.loss_monitor import LossMonitor
from optlab.run.module import ImageClassifier
from optlab.run.paths import run_dir
from optlab.run.settings import RunSettings

# Lightning hints that do not apply to in-memory tensor batches (workers, tiny logging intervals).
for _pattern in (".*does not have many workers.*", ".*log_every_n_steps.*", ".*LeafSpec.*",
                 ".*Total length of .* across ranks is zero.*", ".*is an invalid version.*",
                 ".*Checkpoint directory .* exists and is not empty.*"):
    warnings.filterwarnings("ignore", _pattern)


class LightningBanner(logging.Filter):
    """Lightning's per-Trainer info lines (devices, tips, dataloader notes) once per sweep, not once per run.

    Warnings pass untouched. Worker processes of --parallel show none: the sweep process already did.
    """

    HIDDEN = ("💡 Tip", "Loading `train_dataloader`", "`Trainer.fit` stopped", "`Trainer(")  # "… was configured so"

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()
        self.in_worker = multiprocessing.parent_process() is not None

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        message = record.getMessage()
        if self.in_worker or message.startswith(self.HIDDEN) or message in self.seen:
            return False
        self.seen.add(message)
        return True


def quiet_lightning_banner() -> None:
    """Install LightningBanner once on the loggers behind Lightning's rank_zero_info."""
    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero"):
        logger = logging.getLogger(name)
        if not any(isinstance(existing, LightningBanner) for existing in logger.filters):
            logger.addFilter(LightningBanner())


quiet_lightning_banner()


def _limit(value: float | None) -> int | float | None:
    """A batch limit as Lightning reads it: an int counts batches (1 is one batch), a float is a fraction."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return int(value) if float(value).is_integer() and value > 1 else float(value)


class StopOnSignal(L.Callback):
    """Ends training at the batch boundary after a signal recorded by optlab.run.interrupts. Raising, not
    trainer.should_stop: should_stop ends the epoch early, and the epoch-end checkpoint would then record a
    partial epoch as finished."""

    def on_train_batch_end(self, *args: Any) -> None:
        interrupts.check()

    def on_validation_batch_end(self, *args: Any) -> None:
        interrupts.check()


class RunLogger(TensorBoardLogger):
    """TensorBoard without Lightning's `epoch` scalar: a chart per run that sorts above train/, val/ and test/
    and says nothing the step axis does not."""

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        super().log_metrics({key: value for key, value in metrics.items() if key != "epoch"}, step)


def build_trainer(settings: RunSettings, spec: RunSpec, monitor: LossMonitor, has_val: bool) -> L.Trainer:
    folder = run_dir(settings.sweep_dir, spec)
    logger = RunLogger(save_dir=str(settings.sweep_dir), name=folder.parent.name, version=folder.name,
                       default_hp_metric=False)
    # checkpoints/last.ckpt, rewritten at the end of each training epoch after the monitor and its meter have
    # recorded the epoch. (save_last alone writes nothing when save_top_k=0, so the one kept file is named "last".)
    checkpoint = ModelCheckpoint(dirpath=folder / "checkpoints", filename="last", monitor=None, save_top_k=1,
                                 save_on_train_epoch_end=True, enable_version_counter=False)
    # The meter first: its clock has stopped when the monitor stamps a record with the training seconds.
    callbacks: list[L.Callback] = [monitor.meter, monitor, checkpoint, StopOnSignal()]
    if settings.progress:
        # Refreshing every step would force a host-device sync per step.
        callbacks.append(TQDMProgressBar(refresh_rate=50))
    return L.Trainer(
        max_epochs=settings.max_epochs, accelerator=settings.accelerator, devices=settings.trainer_devices,
        strategy=settings.strategy, num_nodes=settings.num_nodes, precision=settings.precision,
        limit_train_batches=_limit(settings.limit_train_batches),
        limit_val_batches=settings.limit_eval_batches if has_val else 0,
        limit_test_batches=settings.limit_eval_batches, val_check_interval=settings.val_every,
        logger=logger, callbacks=callbacks,
        # Under SLURM, Lightning's auto-requeue (on SIGUSR1) saves an hpc_ckpt_N.ckpt in default_root_dir and resumes
        # from it when ckpt_path is None: the run's own folder, so no other run can pick it up.
        default_root_dir=folder / "checkpoints",
        num_sanity_val_steps=0, enable_model_summary=False, enable_progress_bar=settings.progress,
        # "warn": an op with no deterministic kernel warns instead of ending the run (the bits may then differ).
        # False, not None, otherwise: torch's switch is process-wide, and a run records what it ran with.
        deterministic="warn" if settings.deterministic else False,
    )


def build_module(settings: RunSettings, spec: RunSpec, num_classes: int) -> ImageClassifier:
    return ImageClassifier(
        optimizer=spec.optimizer, lr=spec.lr, optimizer_kwargs=settings.optimizer_kwargs or None,
        schedule=settings.schedule, warmup_epochs=settings.warmup_epochs, num_classes=num_classes,
        channels_last=settings.channels_last, compile_model=settings.compile, compile_mode=settings.compile_mode,
        fused=settings.fused, cuda_graphs=settings.cuda_graphs, problem=settings.problem, l2=settings.l2,
    )
