"""A finished run's result, as results/<run_id>.json holds it (docs/results-schema.md, records.RunResult)."""

from typing import Any

import lightning as L

from optlab.problems import get_problem
from optlab.records.derived import summarize
from optlab.records.run_spec import RunSpec
from optlab.run.loss_monitor import LossMonitor
from optlab.run.module import ImageClassifier
from optlab.run.settings import RunSettings


def run_result(settings: RunSettings, spec: RunSpec, trainer: L.Trainer, model: ImageClassifier,
               monitor: LossMonitor, test: dict[str, Any], final_train_acc: float, resumed: bool,
               initial_weights: str) -> dict[str, Any]:
    """Every field of the result but phase_seconds, which the run adds once its last phase has ended."""
    meter = monitor.meter
    world_size = trainer.world_size
    on_cuda = trainer.strategy.root_device.type == "cuda"
    result = {
        "run_id": spec.run_id,
        "problem": settings.problem,
        "optimizer": spec.optimizer,
        "family": settings.family,
        "lr": spec.lr,
        "seed": spec.seed,
        "optimizer_kwargs": settings.optimizer_kwargs,
        "stage": spec.stage,
        "trial": spec.trial,
        "search": settings.search,
        "search_point": dict(spec.point),
        "schedule": settings.schedule,
        "batch_size": settings.batch_size,
        "world_size": world_size,
        "effective_batch_size": settings.batch_size * world_size,
        "precision": str(trainer.precision),
        "accelerator": trainer.strategy.root_device.type,
        "deterministic": settings.deterministic,
        "cuda_graphs": model.replays_cuda_graphs,
        "augment": settings.augment,
        "augmentation": get_problem(settings.problem).augmentation if settings.augment else "none",
        "l2": settings.l2,
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
        "concurrent_runs": settings.concurrent_runs,
        "run_peak_memory_bytes": meter.run_peak_memory_bytes,
        "run_peak_memory_kind": "cuda_max_allocated" if on_cuda else "rss_over_run_start",
        "epochs": monitor.epochs,
        "val_every": settings.val_every,
        "val_checks": monitor.val_checks,
        **summarize(monitor.epochs, monitor.step_losses, settings.target_acc, monitor.val_checks),
    }
    result["final_train_acc"] = final_train_acc
    result["images_per_second"] = result["train_images"] / result["train_seconds"] if result["train_seconds"] else None
    result["seconds_per_epoch"] = result["train_seconds"] / max(result["epochs_run"], 1)
    result["generalization_gap"] = final_train_acc - result["test_acc"]
    return result
