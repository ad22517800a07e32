"""The sweep's console: one line as a run starts, one as it ends with its headline numbers and the time left."""

import time
from typing import Any


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def headline(result: dict[str, Any]) -> str:
    """Test accuracy, best validation accuracy, training time, and divergence if any."""
    parts = [f"test acc {100 * result['test_acc']:.1f}%"]
    if result.get("best_val_acc") is not None:
        parts.append(f"best val acc {100 * result['best_val_acc']:.1f}%")
    parts.append(f"{result['train_seconds']:.0f} s training")
    if result.get("diverged"):
        parts.append(f"diverged at step {result['diverged_step']}")
    return ", ".join(parts)


class Progress:
    """Counts finished runs of this invocation and extrapolates the time the rest will take."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.started = time.perf_counter()

    def line(self, run_id: str, outcome: str) -> str:
        self.done += 1
        elapsed = time.perf_counter() - self.started
        status = f"{self.done}/{self.total} done, {_duration(elapsed)} so far"
        if self.done < self.total:
            status += f", about {_duration(elapsed / self.done * (self.total - self.done))} left"
        return f"done {run_id}: {outcome} [{status}]"

    def count_failed(self) -> None:
        """A failed run is done too: the estimate covers only the runs still to come."""
        self.done += 1
