"""Scale-out proven on CPU: DDP over two processes, a sweep split into shards, runs side by side."""

import pytest
import torch

from optlab.cli import main
from optlab.concurrency import MAX_RUNS_PER_GPU, auto_parallel, gpus_for_auto, resolve_parallel
from tests.helpers import comparable, results, run_script, sweep_args

GRID = ("--optimizers", "sgd", "adam", "--lr", "1e-2")


def test_ddp_two_processes_match_one_process_with_the_same_global_batch(tmp_path):
    single = run_script(*sweep_args(tmp_path, "one", *GRID, "--batch-size", "32"))
    assert single.returncode == 0, single.stderr[-2000:]
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
    grid = ("--optimizers", "sgd", "adam", "--lr", "1e-2")
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
    assert len(parallel) == 2 and set(parallel) == set(sequential)
    for run_id, reference in sequential.items():
        assert comparable(parallel[run_id]) == comparable(reference), run_id


GIB = 1 << 30


@pytest.mark.parametrize(
    "runs, free_gpu_bytes, cores, expected",
    [
        (5, [], 16, 1),  # no GPU: one run at a time, the cores go to that run
        (5, [140 * GIB], 16, 5),  # one large GPU takes the default sweep at once
        (12, [140 * GIB], 16, MAX_RUNS_PER_GPU),  # at most MAX_RUNS_PER_GPU runs on one GPU
        (12, [80 * GIB, 80 * GIB], 16, 10),  # spread over two GPUs
        (12, [80 * GIB, 80 * GIB], 4, 4),  # each run needs a core to drive its GPU
        (5, [4 * GIB], 16, 2),  # a small GPU holds what fits its free memory
        (5, [GIB], 16, 1),  # never fewer than one
        (1, [140 * GIB], 16, 1),  # never more than there are runs
    ],
)
def test_auto_parallel_fits_runs_to_gpus_memory_and_cores(runs, free_gpu_bytes, cores, expected):
    assert auto_parallel(runs, free_gpu_bytes, cores) == expected


def test_auto_parallel_leaves_devices_the_user_chose_alone(monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: True)
    monkeypatch.setattr("torch.cuda.device_count", lambda: 2)
    monkeypatch.setattr("torch.cuda.mem_get_info", lambda index: (80 * GIB, 80 * GIB))
    assert gpus_for_auto("gpu", "auto", "auto", 1) == [80 * GIB, 80 * GIB]
    assert gpus_for_auto("gpu", 2, "auto", 1) == []
    assert gpus_for_auto("gpu", "auto", "ddp", 1) == []
    assert gpus_for_auto("gpu", "auto", "auto", 2) == []
    assert gpus_for_auto("cpu", "auto", "auto", 1) == []
    assert resolve_parallel(3, runs=5, accelerator="cpu", devices="auto", strategy="auto", num_nodes=1) == 3


def test_parallel_flag_takes_a_count_or_auto(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(sweep_args(tmp_path, "bad", "--parallel", "many"))
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and err.count("\n") == 0 and "--parallel: must be a count or auto" in err
    assert main(sweep_args(tmp_path, "auto", "--optimizers", "sgd", "adam", "--max-epochs", "1",
                           "--parallel", "auto")) == 0
    out = capsys.readouterr().out
    assert "run sgd_lr0.001_seed0 (1/2)" in out and "at a time" not in out  # auto on a CPU: one at a time
