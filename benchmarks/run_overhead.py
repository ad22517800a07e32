"""Per-run fixed cost of a CPU sweep: the full garbage collection each run starts with, the long-lived heap frozen
(what a sweep does) or not.

python benchmarks/run_overhead.py [--runs 4] [--repeats 3]

Both ways run in this one process, alternating, on the same tiny synthetic sweep, so the ratio holds on a noisy
machine.
"""

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from optlab.cli import main as sweep  # noqa: E402
from optlab.run import cost_meter  # noqa: E402
from optlab.sweep import execute  # noqa: E402

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "rmsprop", "adamw", "adagrad", "adadelta")


def one_sweep(log_dir: str, name: str, runs: int, frozen: bool) -> tuple[float, list[float]]:
    """Wall-clock of a tiny sweep and each run's start-of-run collection, in seconds."""
    release = cost_meter.release_freed_memory
    collections: list[float] = []

    def timed_release() -> None:
        started = time.perf_counter()
        release()
        collections.append(time.perf_counter() - started)

    freezing = execute.long_lived_frozen if frozen else contextlib.nullcontext
    args = ["--dataset", "synthetic", "--synthetic-size", "200", "--batch-size", "32", "--max-epochs", "1",
            "--accelerator", "cpu", "--no-report", "--no-progress-bar", "--log-dir", log_dir, "--name", name,
            "--optimizers", *OPTIMIZERS[:runs], "--seeds", "0", "1", "2"]
    with mock.patch.object(cost_meter, "release_freed_memory", timed_release), \
            mock.patch.object(execute, "long_lived_frozen", freezing), contextlib.redirect_stdout(None):
        started = time.perf_counter()
        if sweep(args) != 0:
            raise SystemExit("the sweep failed")
        return time.perf_counter() - started, collections


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=4, help=f"optimizers per sweep (1-{len(OPTIMIZERS)}), 3 seeds each")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not 1 <= args.runs <= len(OPTIMIZERS) or args.repeats < 1:
        print(f"error: --runs must be 1-{len(OPTIMIZERS)} and --repeats >= 1", file=sys.stderr)
        return 2
    walls = {True: [], False: []}
    collections = {True: [], False: []}
    with tempfile.TemporaryDirectory(prefix="optlab-overhead-") as log_dir:
        for repeat in range(args.repeats):
            for frozen in (False, True):
                wall, each = one_sweep(log_dir, f"r{repeat}-{frozen}", args.runs, frozen)
                walls[frozen].append(wall)
                collections[frozen].extend(each)
    runs = args.runs * 3
    for frozen, label in ((False, "heap not frozen"), (True, "long-lived heap frozen")):
        wall = statistics.median(walls[frozen])
        print(f"{label:<24} sweep of {runs} runs: {wall:6.2f} s (median of {args.repeats}); "
              f"collection per run: median {statistics.median(collections[frozen]):.3f} s, "
              f"max {max(collections[frozen]):.3f} s")
    gain = statistics.median(walls[False]) / statistics.median(walls[True])
    print(f"sweep wall-clock, not frozen / frozen: {gain:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
