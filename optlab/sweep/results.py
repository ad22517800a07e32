"""Run results: derived metrics from a run's raw history, and crash-safe JSON files."""

import json
import math
import statistics
from pathlib import Path
from typing import Any

from optlab.atomic import write_text_atomic
from optlab.errors import OptlabError
from optlab.report.target import crossing, first_reached
from optlab.sweep.result_files import read_result

SPIKE_WINDOW = 50
CURVE_POINTS = 400


def write_json_atomic(path: Path, payload: Any) -> None:
    """A reader (or a killed sweep) sees the old file or the new one, never half."""
    write_text_atomic(path, json.dumps(payload, indent=1, allow_nan=True))


def read_json(path: Path) -> Any:
    with path.open() as handle:
        return json.load(handle)


def loss_spikes(losses: list[float], window: int = SPIKE_WINDOW) -> int:
    """Steps whose loss exceeds twice the mean of the `window` steps before it."""
    spikes, running = 0, 0.0
    for index, loss in enumerate(losses):
        if index >= window and math.isfinite(loss) and loss > 2 * running / window:
            spikes += 1
        running += loss if math.isfinite(loss) else 0.0
        if index >= window:
            previous = losses[index - window]
            running -= previous if math.isfinite(previous) else 0.0
    return spikes


def downsample(losses: list[float], points: int = CURVE_POINTS) -> list[list[float]]:
    """[step, mean loss] over equal windows, so a results file stays small for any run length."""
    if not losses:
        return []
    width = max(1, math.ceil(len(losses) / points))
    curve = []
    for start in range(0, len(losses), width):
        chunk = [loss for loss in losses[start:start + width] if math.isfinite(loss)]
        if chunk:
            curve.append([start + len(losses[start:start + width]), sum(chunk) / len(chunk)])
    return curve


def summarize(epochs: list[dict], step_losses: list[float], target_acc: float,
              val_checks: list[dict] | None = None) -> dict[str, Any]:
    """Convergence, generalization-free stability and speed figures derivable from the history alone."""
    val = [(r["epoch"], r["val_acc"]) for r in epochs if r.get("val_acc") is not None]
    best_epoch, best_val = max(val, key=lambda item: item[1]) if val else (None, None)
    last_epoch_losses = step_losses[epochs[-2]["step"] if len(epochs) > 1 else 0:]
    finite = [loss for loss in last_epoch_losses if math.isfinite(loss)]
    return {
        "epochs_run": len(epochs),
        "steps": len(step_losses),
        "final_val_acc": val[-1][1] if val else None,
        "best_val_acc": best_val,
        "best_val_epoch": best_epoch,
        "running_train_acc_last_epoch": epochs[-1].get("train_acc") if epochs else None,
        "final_train_loss": epochs[-1].get("train_loss") if epochs else None,
        "time_to_target": first_reached(val_checks or epochs, target_acc),
        "time_to_target_interpolated": crossing(val_checks or epochs, target_acc),
        "loss_std_last_epoch": statistics.pstdev(finite) if len(finite) > 1 else None,
        "loss_spikes": loss_spikes(step_losses),
        "train_loss_curve": downsample(step_losses),
    }


# World sizes already read, per result file and version (its modification time and size): a sweep reads each
# result once for this check instead of every result before every run (the square of the sweep's size).
_world_sizes: dict[tuple[str, int, int], int | None] = {}


def check_world_size(sweep_dir: Path, world_size: int) -> None:
    """A folder never mixes world sizes: the effective batch, and so every number, depends on it. Only whole
    results count (a damaged one is trained again, see result_files)."""
    for path in sorted((sweep_dir / "results").glob("*.json")):
        try:
            stat = path.stat()
        except FileNotFoundError:  # set aside or deleted meanwhile
            continue
        version = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
        if version not in _world_sizes:
            result = read_result(path)
            if result is None:  # damaged: not counted, and read again next time
                continue
            _world_sizes[version] = result.get("world_size")
        recorded = _world_sizes[version]
        if recorded is not None and recorded != world_size:
            raise OptlabError(f"{sweep_dir} holds runs made at world size {recorded} ({path.stem}) and this "
                              f"run has {world_size}; use the same --devices/--num-nodes, or a new --name")
