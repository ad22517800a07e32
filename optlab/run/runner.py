"""One run: one Trainer, fitted (or resumed), tested, summarized."""

import time
from typing import Any

import lightning as L

from optlab.data import CIFAR10DataModule
from optlab.errors import OptlabError
from optlab.records.run_result import RunResult
from optlab.records.run_spec import RunSpec
from optlab.run import interrupts
from optlab.run.checkpoint import checkpoint_loads, weights_checksum
from optlab.run.cost_meter import CostMeter
from optlab.run.evaluation import TRAIN_SUBSET, train_subset_accuracy
from optlab.run.hparams import log_hparams
from optlab.run.loss_monitor import LossMonitor
from optlab.run.paths import checkpoint_path
from optlab.run.result import run_result
from optlab.run.settings import RunSettings
from optlab.run.trainer import build_module, build_trainer


def check_world_size(settings: RunSettings, world_size: int) -> None:
    """A folder never mixes world sizes: the effective batch, and so every number, depends on it."""
    if settings.world_size is not None and world_size != settings.world_size:
        raise OptlabError(f"{settings.sweep_dir} holds runs made at world size {settings.world_size} and this run "
                          f"has {world_size}; use the same --devices/--num-nodes, or a new --name")


def run_one(settings: RunSettings, spec: RunSpec, datamodule: CIFAR10DataModule) -> dict[str, Any] | None:
    """Train and test one run; returns its result on global rank 0 (None on other ranks)."""
    started = time.perf_counter()
    L.seed_everything(spec.seed, workers=True, verbose=False)
    datamodule = datamodule.with_seed(spec.seed)
    model = build_module(settings, spec, datamodule.num_classes)
    initial_weights = weights_checksum(model)
    monitor = LossMonitor(max_loss=settings.max_loss, meter=CostMeter())
    val_size = datamodule.resolved_val_size()
    trainer = build_trainer(settings, spec, monitor, val_size > 0)
    check_world_size(settings, trainer.world_size)
    last = checkpoint_path(settings.sweep_dir, spec)
    resumed = last.is_file() and checkpoint_loads(last)
    fit_started = time.perf_counter()
    with interrupts.deferred():
        try:
            trainer.fit(model, datamodule=datamodule, ckpt_path=str(last) if resumed else None, weights_only=True)
            fit_ended = time.perf_counter()
            subset = TRAIN_SUBSET if settings.limit_eval_batches is None else min(
                TRAIN_SUBSET, settings.limit_eval_batches * datamodule.eval_batch_size)
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
    result = run_result(settings, spec, trainer, model, monitor, test, final_train_acc, resumed, initial_weights)
    log_hparams(trainer.logger, settings, spec, result, val_size)
    meter = monitor.meter
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
    # The result is the record the report will read: a field of the wrong type fails here, at its writer,
    # not in a report of a finished sweep.
    RunResult.from_json(result, f"the result of {spec.run_id}")
    return result
