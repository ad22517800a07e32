"""Shared bits for the sweep tests: tiny synthetic sweeps that finish in seconds on a CPU."""

import json
import subprocess
import sys
from pathlib import Path

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
