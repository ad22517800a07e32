"""Shared bits for the sweep tests: tiny synthetic sweeps that finish in seconds on a CPU."""

import json
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from optlab.records import RunResult

ROOT = Path(__file__).resolve().parents[1]
SWEEP = ROOT / "scripts" / "sweep.py"

TINY = ["--dataset", "synthetic", "--synthetic-size", "400", "--batch-size", "32", "--max-epochs", "2",
        "--accelerator", "cpu", "--target-acc", "0.3", "--no-report", "--no-progress-bar"]

METRICS = ("test_acc", "test_loss", "best_val_acc", "final_train_loss", "steps", "diverged", "initial_weights")


def sweep_args(log_dir: Path, name: str, *extra: str) -> list[str]:
    return [*TINY, "--log-dir", str(log_dir), "--name", name, *extra]


def run_script(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SWEEP), *args], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT)


def results(log_dir: Path, name: str) -> dict[str, dict]:
    runs = json.loads((log_dir / name / "results.json").read_text())["runs"]
    return {run["run_id"]: run for run in runs}


def comparable(run: dict) -> dict:
    """What must not change between two executions of the same run (timings excluded)."""
    epochs = [{k: v for k, v in e.items() if k != "train_seconds"} for e in run["epochs"]]
    return {**{key: run[key] for key in METRICS}, "epochs": epochs, "curve": run["train_loss_curve"]}


# What a hand-made result leaves out, at values that change nothing a test looks at: no cost measured, no curve,
# no target reached, nothing diverged.
NEUTRAL_RESULT = {
    "optimizer_kwargs": {}, "schedule": "none", "batch_size": 32, "precision": "32-true", "accelerator": "cpu",
    "augment": False, "resumed": False, "initial_weights": "", "diverged": False, "diverged_step": None,
    "last_finite_loss": None, "test_acc": 0.0, "test_loss": 0.0, "train_seconds": 0.0, "train_images": 0,
    "optimizer_state_bytes": None, "peak_memory_bytes": None, "peak_memory_kind": "", "epochs": [], "steps": 0,
    "final_val_acc": None, "best_val_acc": None, "best_val_epoch": None, "running_train_acc_last_epoch": None,
    "final_train_loss": None, "time_to_target": None, "loss_std_last_epoch": None, "loss_spikes": 0,
    "train_loss_curve": [], "final_train_acc": None, "images_per_second": None, "seconds_per_epoch": 0.0,
    "generalization_gap": None,
}
NEUTRAL_EPOCH = {"train_seconds": 0.0, "train_loss": None}


def whole_result(partial: dict[str, Any]) -> dict[str, Any]:
    """A hand-made result as a whole results file: the fields it names, the rest at NEUTRAL_RESULT (its epochs
    completed the same way, at the run's lr)."""
    result = {**NEUTRAL_RESULT, **partial}
    result["epochs"] = [{**NEUTRAL_EPOCH, "lr": result["lr"], **epoch} for epoch in result["epochs"]]
    result.setdefault("epochs_run", len(result["epochs"]))
    return result


def run_result(partial: dict[str, Any]) -> RunResult:
    """A hand-made result as the report reads it."""
    return RunResult.from_json(whole_result(partial))


def run_results(partials: Iterable[dict[str, Any]]) -> list[RunResult]:
    return [run_result(partial) for partial in partials]
