"""Scale-out proven on CPU: DDP over two processes, a sweep split into shards, runs side by side."""

import subprocess
import sys

import pytest
import torch

from optlab.cli import main
from optlab.sweep.concurrency import (
    MAX_RUNS_PER_GPU,
    Gpu,
    Plan,
    auto_devices,
    parse_gpu_query,
    plan_parallel,
    query_gpus,
)
from optlab.sweep.config import SweepConfig
from optlab.sweep.pool import _worker_config
from tests.helpers import ROOT, SWEEP, comparable, results, run_script, sweep_args

GRID = ("--optimizers", "sgd", "adam", "--lr", "1e-2")


def test_ddp_two_processes_match_one_process_with_the_same_global_batch(tmp_path):
    assert main(sweep_args(tmp_path, "one", *GRID, "--batch-size", "32")) == 0
    ddp = run_script(*sweep_args(tmp_path, "ddp", *GRID, "--batch-size", "16", "--devices", "2", "--strategy", "ddp"))
    assert ddp.returncode == 0, ddp.stderr[-2000:]
    one, two = results(tmp_path, "one"), results(tmp_path, "ddp")
    assert set(one) == set(two) == {"sgd_lr0.01_seed0", "adam_lr0.01_seed0"}
    for run_id, reference in one.items():
        run = two[run_id]
        assert (run["world_size"], run["batch_size"], run["effective_batch_size"]) == (2, 16, 32)
        assert (reference["world_size"], reference["effective_batch_size"]) == (1, 32)
        # Both ranks together saw each training image once per epoch, as one process does.
        assert run["train_images"] == reference["train_images"] and run["steps"] == reference["steps"]
        assert run["initial_weights"] == reference["initial_weights"]
        # Same global batches and averaged gradients: only float summation order differs.
        assert run["test_acc"] == pytest.approx(reference["test_acc"], abs=0.02)
        for (step_a, loss_a), (step_b, loss_b) in zip(run["train_loss_curve"], reference["train_loss_curve"]):
            assert step_a == step_b and loss_a == pytest.approx(loss_b, abs=1e-3)


def test_every_ddp_rank_waits_for_rank_zero_to_apply_restart_and_trains_the_same_runs(tmp_path):
    # sgd is finished in this folder: a rank reading it before rank 0 has deleted it would plan adam alone
    # while rank 0 plans sgd then adam, and the two would train different runs together, then hang.
    assert main(sweep_args(tmp_path, "ddp", "--optimizers", "sgd", "--lr", "1e-2", "--max-epochs", "1")) == 0
    assert results(tmp_path, "ddp")["sgd_lr0.01_seed0"]["world_size"] == 1
    # torchrun starts both ranks at once (Lightning's own launcher starts the others later, hiding the race).
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", str(SWEEP),
                *sweep_args(tmp_path, "ddp", *GRID, "--max-epochs", "1", "--batch-size", "16", "--devices", "2",
                            "--strategy", "ddp", "--restart")]
    done = subprocess.run(torchrun, capture_output=True, text=True, timeout=400, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "run sgd_lr0.01_seed0 (1/2)" in done.stdout and "run adam_lr0.01_seed0 (2/2)" in done.stdout
    runs = results(tmp_path, "ddp")
    assert set(runs) == {"sgd_lr0.01_seed0", "adam_lr0.01_seed0"}
    assert all(run["world_size"] == 2 and not run["resumed"] for run in runs.values())  # both trained anew, together


def test_two_shards_merge_into_the_unsharded_sweep(tmp_path, capsys):
    grid = ("--optimizers", "sgd", "adam", "--lr", "1e-2", "--seeds", "0", "1")
    assert main(sweep_args(tmp_path, "whole", *grid)) == 0
    assert main(sweep_args(tmp_path, "split", *grid, "--shard", "1/2")) == 0
    assert "not yet run in this folder: 2 run(s)" in capsys.readouterr().out
    assert main(sweep_args(tmp_path, "split", *grid, "--shard", "2/2")) == 0
    whole, split = results(tmp_path, "whole"), results(tmp_path, "split")
    assert len(whole) == 4 and set(whole) == set(split)
    assert all(comparable(split[run_id]) == comparable(whole[run_id]) for run_id in whole)


def test_parallel_runs_give_the_same_numbers_as_sequential(tmp_path, monkeypatch):
    # Three runs on two workers: one worker trains two, on the data it read for the first.
    grid = ("--optimizers", "sgd", "adam", "momentum", "--lr", "1e-2")
    # Two workers on two cores get one thread each; the CPU's float summation order depends on the
    # thread count, so the sequential reference runs with one thread too.
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main(sweep_args(tmp_path, "sequential", *grid)) == 0
    finally:
        torch.set_num_threads(threads)
    assert main(sweep_args(tmp_path, "parallel", *grid, "--parallel", "2")) == 0
    sequential, parallel = results(tmp_path, "sequential"), results(tmp_path, "parallel")
    assert len(parallel) == 3 and set(parallel) == set(sequential)
    for run_id, reference in sequential.items():
        assert comparable(parallel[run_id]) == comparable(reference), run_id


GIB = 1 << 30
QUERY = """0, GPU-aaaa-1111, 81000, Default
1, GPU-bbbb-2222, 3000, Default
2, GPU-cccc-3333, 81000, Exclusive_Process
"""


def gpu(index: int, free_gib: float, shared: bool = True) -> Gpu:
    return Gpu(index, int(free_gib * GIB), shared)


@pytest.mark.parametrize(
    "runs, gpus, cores, expected",
    [
        (5, [], 16, []),  # no GPU: one run at a time, the cores go to that run
        (5, [gpu(0, 140)], 16, [0, 0, 0, 0, 0]),  # one large GPU takes the default sweep at once
        (12, [gpu(0, 140)], 16, [0] * MAX_RUNS_PER_GPU),  # at most MAX_RUNS_PER_GPU runs on one GPU
        (4, [gpu(0, 80), gpu(1, 80)], 16, [0, 1, 0, 1]),  # spread over two GPUs in turn
        (12, [gpu(0, 80), gpu(1, 80)], 3, [0, 1, 0]),  # each run needs a core to drive its GPU
        (5, [gpu(0, 4)], 16, [0, 0]),  # a small GPU holds what fits its free memory
        (5, [gpu(0, 1), gpu(1, 80)], 16, [1] * MAX_RUNS_PER_GPU),  # a full GPU gets none
        (5, [gpu(0, 80, shared=False), gpu(1, 80)], 16, [0, 1, 1, 1, 1]),  # exclusive-process: one process
        (1, [gpu(0, 140)], 16, [0]),  # never more than there are runs
    ],
)
def test_auto_parallel_fits_runs_to_gpus_memory_and_cores(runs, gpus, cores, expected):
    assert auto_devices(runs, gpus, cores) == expected


def test_gpu_query_follows_cuda_visible_devices():
    every = parse_gpu_query(QUERY, None)
    assert every == [gpu(0, 81000 / 1024), gpu(1, 3000 / 1024), gpu(2, 81000 / 1024, shared=False)]
    # CUDA renumbers the visible GPUs from 0 in the order given, by index or by (a prefix of) the UUID.
    assert parse_gpu_query(QUERY, "2,0") == [gpu(0, 81000 / 1024, shared=False), gpu(1, 81000 / 1024)]
    assert parse_gpu_query(QUERY, "GPU-bbbb") == [gpu(0, 3000 / 1024)]
    assert parse_gpu_query(QUERY, "") == []
    assert parse_gpu_query(QUERY, "1,7,0") == [gpu(0, 3000 / 1024)]  # CUDA stops at the first unknown entry


def test_auto_leaves_devices_the_user_chose_alone_and_asks_no_gpu(monkeypatch):
    asked = []
    monkeypatch.setattr("optlab.sweep.concurrency.query_gpus", lambda: asked.append(1) or [gpu(0, 80), gpu(1, 80)])
    monkeypatch.setattr("os.cpu_count", lambda: 16)
    assert plan_parallel("auto", 4, "gpu", "auto", "auto", 1) == Plan(4, (0, 1, 0, 1))
    for accelerator, devices, strategy, nodes in (("gpu", 2, "auto", 1), ("gpu", "auto", "ddp", 1),
                                                  ("gpu", "auto", "auto", 2), ("cpu", "auto", "auto", 1)):
        assert plan_parallel("auto", 4, accelerator, devices, strategy, nodes) == Plan(1)
    assert len(asked) == 1
    assert plan_parallel(3, 5, "gpu", "auto", "auto", 1) == Plan(3)  # an explicit count is kept
    assert plan_parallel("auto", 1, "gpu", "auto", "auto", 1) == Plan(1)


def test_no_nvidia_smi_means_no_gpus(monkeypatch):
    monkeypatch.setattr("optlab.sweep.concurrency.GPU_QUERY", ["optlab-no-such-command"])
    assert query_gpus() == []


def test_parallel_flag_takes_a_count_or_auto(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(sweep_args(tmp_path, "bad", "--parallel", "many"))
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and err.count("\n") == 0 and "--parallel: must be a count or auto" in err
    assert main(sweep_args(tmp_path, "auto", "--optimizers", "sgd", "adam", "--max-epochs", "1",
                           "--parallel", "auto")) == 0
    out = capsys.readouterr().out
    assert "run sgd_lr0.001_seed0 (1/2)" in out and "at a time" not in out  # auto on a CPU: one at a time


def test_parallel_workers_get_the_planned_gpus():
    config = SweepConfig(optimizers=["sgd"], lrs=[0.1], seeds=[0])
    plan = Plan(3, (0, 1, 0))
    workers = [_worker_config(config, slot, plan) for slot in range(4)]
    assert [worker.devices for worker in workers] == [[0], [1], [0], [0]]
    assert {worker.accelerator for worker in workers} == {"gpu"} and not any(worker.progress for worker in workers)
