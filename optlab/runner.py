"""One cell of a sweep: one Trainer, fitted (or resumed), tested, summarized."""

import hashlib
import logging
import multiprocessing
import shutil
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import lightning as L
import torch
import yaml
from lightning.pytorch.callbacks import ModelCheckpoint, TQDMProgressBar
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.utilities.rank_zero import rank_zero_only

from optlab.atomic import write_text_atomic
from optlab.data import CIFAR10DataModule
from optlab.problems import get_problem
from optlab.records.derived import summarize
from optlab.records.order import folder_name, lr_text
from optlab.run import interrupts
from optlab.run.cost_meter import CostMeter
from optlab.run.loss_monitor import LossMonitor
from optlab.run.module import ImageClassifier
from optlab.sweep.config import RunSpec, SweepConfig
from optlab.sweep.hparams_tab import run_hparams, session_summaries
from optlab.sweep.results import check_world_size

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


def make_datamodule(config: SweepConfig) -> CIFAR10DataModule:
    problem = get_problem(config.problem)
    return CIFAR10DataModule(
        data_dir=config.data_dir, dataset=config.dataset, batch_size=config.batch_size,
        val_size=config.val_size, augment=config.augment, channels_last=config.channels_last,
        synthetic_size=config.synthetic_size, augmentation=problem.augmentation,
        preprocessing=problem.preprocessing, shuffled_test=config.limit_eval_batches is not None,
    )


def run_dir(config: SweepConfig, spec: RunSpec) -> Path:
    """<optimizer>/lr<lr>_seed<seed> for a grid cell, <optimizer>/trial<n>_seed<seed> for a search trial's run."""
    configuration = f"trial{spec.trial}" if spec.trial is not None else f"lr{lr_text(spec.lr)}"
    return config.sweep_dir / folder_name(spec.optimizer) / f"{configuration}_seed{spec.seed}"


def checkpoint_path(config: SweepConfig, spec: RunSpec) -> Path:
    """The one checkpoint a run keeps (its last finished epoch), from which it resumes."""
    return run_dir(config, spec) / "checkpoints" / "last.ckpt"


def weights_checksum(module: torch.nn.Module) -> str:
    """A digest of the initial weights: equal digests prove runs started from the same point."""
    digest = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


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


class SweepLogger(TensorBoardLogger):
    """TensorBoard without Lightning's `epoch` scalar: a chart per run that sorts above train/, val/ and test/
    and says nothing the step axis does not."""

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        super().log_metrics({key: value for key, value in metrics.items() if key != "epoch"}, step)


def build_trainer(config: SweepConfig, spec: RunSpec, monitor: LossMonitor, has_val: bool) -> L.Trainer:
    folder = run_dir(config, spec)
    logger = SweepLogger(save_dir=str(config.sweep_dir), name=folder.parent.name, version=folder.name,
                               default_hp_metric=False)
    # checkpoints/last.ckpt, rewritten at the end of each training epoch after the monitor and its meter have
    # recorded the epoch. (save_last alone writes nothing when save_top_k=0, so the one kept file is named "last".)
    checkpoint = ModelCheckpoint(dirpath=folder / "checkpoints", filename="last", monitor=None, save_top_k=1,
                                 save_on_train_epoch_end=True, enable_version_counter=False)
    # The meter first: its clock has stopped when the monitor stamps a record with the training seconds.
    callbacks: list[L.Callback] = [monitor.meter, monitor, checkpoint, StopOnSignal()]
    if config.progress:
        # Refreshing every step would force a host-device sync per step.
        callbacks.append(TQDMProgressBar(refresh_rate=50))
    return L.Trainer(
        max_epochs=config.max_epochs, accelerator=config.accelerator, devices=config.devices,
        strategy=config.strategy, num_nodes=config.num_nodes, precision=config.precision,
        limit_train_batches=_limit(config.limit_train_batches),
        limit_val_batches=config.limit_eval_batches if has_val else 0, limit_test_batches=config.limit_eval_batches,
        val_check_interval=config.val_every,
        logger=logger, callbacks=callbacks,
        # Under SLURM, Lightning's auto-requeue (on SIGUSR1) saves an hpc_ckpt_N.ckpt in default_root_dir and resumes
        # from it when ckpt_path is None: the run's own folder, so no other run can pick it up.
        default_root_dir=folder / "checkpoints",
        num_sanity_val_steps=0, enable_model_summary=False, enable_progress_bar=config.progress,
        # "warn": an op with no deterministic kernel warns instead of ending the run (the bits may then differ).
        # False, not None, otherwise: torch's switch is process-wide, and a run records what it ran with.
        deterministic="warn" if config.deterministic else False,
    )


def build_module(config: SweepConfig, spec: RunSpec, num_classes: int) -> ImageClassifier:
    return ImageClassifier(
        optimizer=spec.optimizer, lr=spec.lr, optimizer_kwargs=config.run_arguments(spec) or None,
        schedule=config.schedule, warmup_epochs=config.warmup_epochs, num_classes=num_classes,
        channels_last=config.channels_last, compile_model=config.compile, compile_mode=config.compile_mode,
        fused=config.fused, cuda_graphs=config.cuda_graphs, problem=config.problem, l2=config.l2,
    )


def checkpoint_loads(path: Path) -> bool:
    """Whether a run's checkpoint loads as plain tensors and containers (torch's weights_only loader, as the
    resuming Trainer will load it). One that does not (cut short by a kill, or holding anything else) is
    deleted, and the run starts over rather than failing the sweep. Every DDP rank reads the same bytes, so
    every rank reaches the same answer."""
    try:
        torch.load(path, map_location="cpu", weights_only=True)
        return True
    except FileNotFoundError:  # another rank already found it unusable and deleted it
        return False
    except Exception as error:  # torch raises several types for a bad file; every one means "do not resume"
        if rank_zero_only.rank == 0:
            print(f"{path} cannot be loaded ({type(error).__name__}); starting this run over", file=sys.stderr)
        path.unlink(missing_ok=True)
        return False


def run_one(config: SweepConfig, spec: RunSpec, datamodule: CIFAR10DataModule) -> dict[str, Any] | None:
    """Train and test one run; returns its result on global rank 0 (None on other ranks)."""
    started = time.perf_counter()
    L.seed_everything(spec.seed, workers=True, verbose=False)
    datamodule.seed = spec.seed
    model = build_module(config, spec, datamodule.num_classes)
    initial_weights = weights_checksum(model)
    meter = CostMeter()
    monitor = LossMonitor(max_loss=config.max_loss, meter=meter)
    val_size = datamodule.resolved_val_size()
    trainer = build_trainer(config, spec, monitor, val_size > 0)
    check_world_size(config.sweep_dir, trainer.world_size)
    last = checkpoint_path(config, spec)
    resumed = last.is_file() and checkpoint_loads(last)
    fit_started = time.perf_counter()
    with interrupts.deferred():
        try:
            trainer.fit(model, datamodule=datamodule, ckpt_path=str(last) if resumed else None, weights_only=True)
            fit_ended = time.perf_counter()
            subset = TRAIN_SUBSET if config.limit_eval_batches is None else min(
                TRAIN_SUBSET, config.limit_eval_batches * datamodule.eval_batch_size)
            final_train_acc = train_subset_accuracy(model, datamodule, trainer, subset)
            subset_ended = time.perf_counter()
            test = trainer.test(model, datamodule=datamodule, verbose=False)[0]
        except SystemExit:
            # Lightning ends fit or test with SIGTERMException (a SystemExit) after a SIGTERM, at a batch boundary.
            if interrupts.received() is None:
                raise
            raise interrupts.SweepInterrupted(interrupts.received(), (spec.run_id,)) from None
        except interrupts.SweepInterrupted as stopped:
            stopped.run_ids = (spec.run_id,)
            raise
    test_ended = time.perf_counter()
    if trainer.global_rank != 0:
        return None
    world_size = trainer.world_size
    on_cuda = trainer.strategy.root_device.type == "cuda"
    result = {
        "run_id": spec.run_id,
        "problem": config.problem,
        "optimizer": spec.optimizer,
        "family": config.family(spec.optimizer),
        "lr": spec.lr,
        "seed": spec.seed,
        "optimizer_kwargs": config.run_arguments(spec),
        "stage": spec.stage,
        "trial": spec.trial,
        "search": config.search,
        "search_point": dict(spec.point),
        "schedule": config.schedule,
        "batch_size": config.batch_size,
        "world_size": world_size,
        "effective_batch_size": config.batch_size * world_size,
        "precision": str(trainer.precision),
        "accelerator": trainer.strategy.root_device.type,
        "deterministic": config.deterministic,
        "cuda_graphs": model.replays_cuda_graphs,
        "augment": config.augment,
        "augmentation": get_problem(config.problem).augmentation if config.augment else "none",
        "l2": config.l2,
        "resumed": resumed,
        "initial_weights": initial_weights,
        "status": "diverged" if monitor.diverged else "finished",
        "diverged": monitor.diverged,
        "diverged_step": monitor.diverged_step,
        "last_finite_loss": monitor.last_finite_loss,
        "test_acc": float(test["test/acc"]),
        "test_loss": float(test["test/loss"]),
        "train_seconds": meter.train_seconds,
        "train_images": meter.train_images * world_size,
        "optimizer_state_bytes": meter.optimizer_state_bytes,
        "peak_memory_bytes": meter.peak_memory_bytes,
        "peak_memory_kind": "cuda_max_allocated" if on_cuda else "process_rss",
        "concurrent_runs": config.concurrent_runs,
        "run_peak_memory_bytes": meter.run_peak_memory_bytes,
        "run_peak_memory_kind": "cuda_max_allocated" if on_cuda else "rss_over_run_start",
        "epochs": monitor.epochs,
        "val_every": config.val_every,
        "val_checks": monitor.val_checks,
        **summarize(monitor.epochs, monitor.step_losses, config.target_acc, monitor.val_checks),
    }
    result["final_train_acc"] = final_train_acc
    result["images_per_second"] = result["train_images"] / result["train_seconds"] if result["train_seconds"] else None
    result["seconds_per_epoch"] = result["train_seconds"] / max(result["epochs_run"], 1)
    result["generalization_gap"] = final_train_acc - result["test_acc"]
    log_hparams(trainer.logger, config, spec, result, val_size)
    if not config.keep_checkpoints:
        shutil.rmtree(last.parent, ignore_errors=True)
    result["phase_seconds"] = {
        # Where this attempt's wall-clock went (a resumed run counts only its last attempt).
        "setup": fit_started - started,
        "fit": fit_ended - fit_started,
        "train": meter.attempt_train_seconds,
        "validation": meter.validation_seconds,
        "train_subset_eval": subset_ended - fit_ended,
        "test": test_ended - subset_ended,
        "total": time.perf_counter() - started,
    }
    return result


TRAIN_SUBSET = 5000


def train_subset_indices(count: int, total: int) -> torch.Tensor:
    """The fixed random subset of the training split that the generalization gap's train accuracy is taken on."""
    return torch.randperm(total, generator=torch.Generator().manual_seed(0))[:count]


@torch.no_grad()
def train_subset_accuracy(model: ImageClassifier, datamodule: CIFAR10DataModule, trainer: L.Trainer,
                          count: int = TRAIN_SUBSET) -> float:
    """Accuracy of the final weights on a fixed random subset of the training split, evaluated like test:
    same batch transform, eval mode, and the Trainer's precision (its test-step autocast context).

    The running accuracy of the last epoch mixes many weight states (and augmentation), so a
    generalization gap built on it understates how well the final model fits its training data.
    """
    images, labels = datamodule.train_set.images, datamodule.train_set.labels
    subset = train_subset_indices(count, len(labels)).to(labels.device)
    was_training = model.training
    model.to(labels.device)  # Lightning moves the model back to the CPU when fit ends
    model.use_evaluation_weights()  # schedule-free optimizers: the averaged weights, as test uses
    model.eval()
    correct = 0
    with trainer.precision_plugin.test_step_context():
        for chunk in subset.split(datamodule.eval_batch_size):
            batch, _ = datamodule.on_after_batch_transfer((images[chunk], labels[chunk]), 0)
            correct += int((model(batch).argmax(1) == labels[chunk]).sum())
    model.train(was_training)
    return correct / len(subset)


# Final numbers that no step logs, under the stage they describe (the HParams tab reads a tag's last value).
FINAL_SCALARS = {"test/generalization_gap": "generalization_gap", "train/images_per_second": "images_per_second",
                 "train/diverged": "diverged"}


def log_hparams(logger: TensorBoardLogger, config: SweepConfig, spec: RunSpec, result: dict, val_size: int) -> None:
    """The run's HParams session (its settings, under its run id) beside its final numbers (no hp_metric)."""
    final = {tag: float(result[key]) for tag, key in FINAL_SCALARS.items() if result.get(key) is not None}
    logger.log_metrics(final, result["steps"])
    hparams = {**run_hparams(config, spec), "world_size": result["world_size"],
               "effective_batch_size": result["effective_batch_size"]}
    writer = logger.experiment._get_file_writer()
    for summary in session_summaries(hparams, spec.run_id):
        writer.add_summary(summary)
    logger.finalize("success")
    write_run_hparams(Path(logger.log_dir) / "hparams.yaml", config, spec, result, val_size)


def _plain(value: Any) -> Any:
    """Tuples (betas) as lists, so the YAML stays plain."""
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    return value


def write_run_hparams(path: Path, config: SweepConfig, spec: RunSpec, result: dict, val_size: int) -> None:
    """The run's hyperparameters, replacing the empty file Lightning writes before any are logged."""
    hparams = {
        "optimizer": spec.optimizer, "family": result["family"], "lr": spec.lr, "seed": spec.seed,
        "stage": spec.stage, "trial": spec.trial, "search_point": dict(spec.point),
        "optimizer_kwargs": result["optimizer_kwargs"], "schedule": config.schedule,
        "warmup_epochs": config.warmup_epochs, "max_epochs": config.max_epochs, "batch_size": config.batch_size,
        "effective_batch_size": result["effective_batch_size"], "dataset": config.dataset_source,
        "val_size": val_size, "augment": config.augment, "precision": result["precision"],
        "limit_train_batches": config.limit_train_batches, "limit_eval_batches": config.limit_eval_batches,
        "max_loss": config.max_loss,
    }
    write_text_atomic(path, yaml.safe_dump(_plain(hparams), sort_keys=False))
