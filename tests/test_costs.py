"""Costs that belong to the run: the same configuration measures the same memory wherever it falls."""

import json
import subprocess
import sys

from tests.helpers import ROOT

TWO_SWEEPS = """
import json, sys
from optlab.cli import main
common = ["--dataset", "synthetic", "--synthetic-size", "1200", "--batch-size", "1024", "--max-epochs", "1",
          "--limit-train-batches", "2", "--accelerator", "cpu", "--no-report", "--no-progress-bar",
          "--log-dir", sys.argv[1], "--lr", "1e-3"]
assert main([*common, "--name", "first", "--optimizers", "sgd", "adam"]) == 0
assert main([*common, "--name", "last", "--optimizers", "adam", "sgd"]) == 0
"""


def run_peak(log_dir, name: str) -> int:
    return json.loads((log_dir / name / "results" / "sgd_lr0.001_seed0.json").read_text())["run_peak_memory_bytes"]


def test_the_same_run_first_and_last_in_a_process_reports_the_same_peak_memory(tmp_path):
    done = subprocess.run([sys.executable, "-c", TWO_SWEEPS, str(tmp_path)], capture_output=True, text=True,
                          timeout=900, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    first, last = run_peak(tmp_path, "first"), run_peak(tmp_path, "last")
    assert first > 2**20 and last > 2**20
    assert abs(first - last) <= 0.1 * max(first, last), (first / 2**20, last / 2**20)


def test_the_sweep_freezes_what_lives_long_after_collecting_and_thaws_it_after():
    import gc
    import weakref

    from optlab.sweep.heap import long_lived_frozen

    class Node:
        pass

    garbage = Node()
    garbage.itself = garbage  # a cycle: only the collector frees it
    gone = weakref.ref(garbage)
    del garbage
    frozen_before = gc.get_freeze_count()
    with long_lived_frozen():
        assert gone() is None  # collected first, not frozen for the sweep's life
        assert gc.get_freeze_count() > frozen_before
    assert gc.get_freeze_count() == frozen_before
