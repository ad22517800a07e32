"""A sweep killed with SIGKILL mid-run and run again ends with the same results as an unbroken one."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import torch

from optlab.cli import main
from optlab.run.checkpoint import checkpoint_loads
from tests.helpers import ROOT, SWEEP, comparable, results, sweep_args

GRID = ("--optimizers", "sgd", "adam", "--lr", "1e-2", "--max-epochs", "3", "--synthetic-size", "800")


def kill_during_second_run(args: list[str], checkpoint, finished, timeout: float = 180) -> int:
    """Start the sweep, wait for the second run's first epoch checkpoint, then SIGKILL the process; its pid."""
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
    return process.pid


def test_sigkill_then_rerun_equals_an_uninterrupted_sweep(tmp_path, capsys):
    assert main(sweep_args(tmp_path, "unbroken", *GRID)) == 0
    args = sweep_args(tmp_path, "killed", *GRID)
    sweep = tmp_path / "killed"
    killed = kill_during_second_run(args, sweep / "adam" / "lr0.01_seed0" / "checkpoints" / "last.ckpt",
                                    sweep / "results" / "adam_lr0.01_seed0.json")
    assert (sweep / "results" / "sgd_lr0.01_seed0.json").is_file()  # the finished run survived the kill
    # The killed process still holds its claim on the interrupted run; the next process takes it over.
    assert json.loads((sweep / "claims" / "adam_lr0.01_seed0.lock").read_text())["pid"] == killed
    capsys.readouterr()
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "skip sgd_lr0.01_seed0: already finished" in out
    assert f"resume adam_lr0.01_seed0 (taken over from {socket.gethostname()} pid {killed}" in out
    assert not (sweep / "claims" / "adam_lr0.01_seed0.lock").exists()
    unbroken, resumed = results(tmp_path, "unbroken"), results(tmp_path, "killed")
    assert resumed["adam_lr0.01_seed0"]["resumed"] and set(resumed) == set(unbroken)
    for run_id, reference in unbroken.items():
        assert comparable(resumed[run_id]) == comparable(reference), run_id


def test_a_truncated_checkpoint_restarts_that_run_instead_of_failing(tmp_path, capsys):
    args = sweep_args(tmp_path, "cut", "--optimizers", "adam", "--keep-checkpoints")
    assert main(args) == 0
    reference = results(tmp_path, "cut")["adam_lr0.001_seed0"]
    checkpoint = tmp_path / "cut" / "adam" / "lr0.001_seed0" / "checkpoints" / "last.ckpt"
    checkpoint.write_bytes(checkpoint.read_bytes()[:1000])
    (tmp_path / "cut" / "results" / "adam_lr0.001_seed0.json").unlink()
    capsys.readouterr()
    assert main(args) == 0
    assert "last.ckpt cannot be loaded" in capsys.readouterr().err
    assert not results(tmp_path, "cut")["adam_lr0.001_seed0"]["resumed"]
    assert comparable(results(tmp_path, "cut")["adam_lr0.001_seed0"]) == comparable(reference)


class CreatesAFile:
    def __init__(self, path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return open, (self.path, "w")


def test_only_a_checkpoint_of_plain_tensors_and_containers_is_resumed(tmp_path):
    good = tmp_path / "good.ckpt"
    torch.save({"state_dict": {"weight": torch.ones(3)}, "epoch": 1, "loops": {"fit": [1.5, None, "x"]}}, good)
    assert checkpoint_loads(good) and good.is_file()
    cut = tmp_path / "cut.ckpt"
    cut.write_bytes(good.read_bytes()[:200])
    assert not checkpoint_loads(cut) and not cut.exists()  # deleted: the run starts over
    crafted = tmp_path / "crafted.ckpt"
    torch.save({"state_dict": {}, "callbacks": CreatesAFile(tmp_path / "created-by-checkpoint")}, crafted)
    assert not checkpoint_loads(crafted) and not (tmp_path / "created-by-checkpoint").exists()
