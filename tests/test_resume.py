"""A sweep killed with SIGKILL mid-run and run again ends with the same results as an unbroken one."""

import os
import signal
import subprocess
import sys
import time

from optlab.cli import main
from tests.helpers import ROOT, SWEEP, comparable, results, sweep_args

GRID = ("--optimizers", "sgd", "adam", "--lr", "1e-2", "--max-epochs", "3", "--synthetic-size", "800")


def kill_during_second_run(args: list[str], checkpoint, finished, timeout: float = 180) -> None:
    """Start the sweep, wait for the second run's first epoch checkpoint, then SIGKILL the process."""
    process = subprocess.Popen([sys.executable, str(SWEEP), *args], cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + timeout
    try:
        while not checkpoint.is_file():
            assert process.poll() is None, "the sweep ended before it could be killed"
            assert time.monotonic() < deadline, "no checkpoint appeared"
            time.sleep(0.02)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert not finished.is_file(), "the second run had already finished; nothing was interrupted"


def test_sigkill_then_rerun_equals_an_uninterrupted_sweep(tmp_path, capsys):
    assert main(sweep_args(tmp_path, "unbroken", *GRID)) == 0
    args = sweep_args(tmp_path, "killed", *GRID)
    sweep = tmp_path / "killed"
    kill_during_second_run(args, sweep / "adam" / "lr0.01_seed0" / "checkpoints" / "last.ckpt",
                           sweep / "results" / "adam_lr0.01_seed0.json")
    assert (sweep / "results" / "sgd_lr0.01_seed0.json").is_file()  # the finished run survived the kill
    capsys.readouterr()
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "skip sgd_lr0.01_seed0: already finished" in out and "resume adam_lr0.01_seed0" in out
    unbroken, resumed = results(tmp_path, "unbroken"), results(tmp_path, "killed")
    assert resumed["adam_lr0.01_seed0"]["resumed"] and set(resumed) == set(unbroken)
    for run_id, reference in unbroken.items():
        assert comparable(resumed[run_id]) == comparable(reference), run_id


def test_a_truncated_checkpoint_restarts_that_run_instead_of_failing(tmp_path):
    args = sweep_args(tmp_path, "cut", "--optimizers", "adam", "--keep-checkpoints")
    assert main(args) == 0
    reference = results(tmp_path, "cut")["adam_lr0.001_seed0"]
    checkpoint = tmp_path / "cut" / "adam" / "lr0.001_seed0" / "checkpoints" / "last.ckpt"
    checkpoint.write_bytes(checkpoint.read_bytes()[:1000])
    (tmp_path / "cut" / "results" / "adam_lr0.001_seed0.json").unlink()
    assert main(args) == 0
    assert comparable(results(tmp_path, "cut")["adam_lr0.001_seed0"]) == comparable(reference)
