"""GPU code paths checked on the CPU: CUDA-graph dispatch, refusals, and the --parallel slots."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from optlab.cli import main
from optlab.run.module import ImageClassifier
from optlab.sweep.concurrency import Plan
from optlab.sweep.config import RunSpec, SweepConfig
from optlab.sweep.pool import run_parallel as _run_parallel
from optlab.sweep.pool import slot_configs
from tests.helpers import ROOT, comparable, results, sweep_args


def fake_graphs(calls: list):
    """Stands in for torch.cuda.make_graphed_callables: marks the module's forward as the graphed one."""
    def make_graphed_callables(module, sample_args):
        eager = module.forward

        def graphed(x):
            calls.append(tuple(x.shape))
            return eager(x)
        module.forward = graphed
        return module
    return make_graphed_callables


def test_graphed_forward_serves_full_training_batches_only(monkeypatch):
    calls = []
    monkeypatch.setattr(torch.cuda, "make_graphed_callables", fake_graphs(calls))
    model = ImageClassifier(cuda_graphs="on")
    full, short = torch.randn(8, 3, 32, 32), torch.randn(3, 3, 32, 32)
    model._capture_cuda_graphs(full)
    model.train()
    model(full)
    model(short)  # the epoch's short last batch: eager
    assert calls == [(8, 3, 32, 32)]
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(short), type(model.net).forward(model.net, short))


def test_capture_puts_buffers_back(monkeypatch):
    def warm_up_then_graph(module, sample_args):
        for buffer in module.buffers():
            buffer.add_(1)  # what warm-up passes do to batch-norm statistics
        return module
    monkeypatch.setattr(torch.cuda, "make_graphed_callables", warm_up_then_graph)
    model = ImageClassifier()
    model.net.register_buffer("running", torch.zeros(3))
    model._capture_cuda_graphs(torch.randn(4, 3, 32, 32))
    assert torch.equal(model.net.running, torch.zeros(3))


def test_auto_graphs_stay_off_on_a_cpu():
    model = ImageClassifier(cuda_graphs="auto")
    assert not model._wants_cuda_graphs(torch.randn(4, 3, 32, 32))


def test_cuda_graphs_on_without_a_gpu_is_one_line(tmp_path, capsys):
    assert main(sweep_args(tmp_path, "graphs", "--cuda-graphs", "on")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--cuda-graphs on needs a CUDA GPU" in err
    assert not (tmp_path / "graphs").exists()


@pytest.mark.parametrize("flags, message", [
    (["--cuda-graphs", "on", "--compile"], "choose one"),
    (["--cuda-graphs", "on", "--precision", "bf16-mixed"], "fp32 only"),
])
def test_cuda_graphs_conflicts_are_one_line(tmp_path, capsys, flags, message):
    assert main(sweep_args(tmp_path, "graphs", *flags)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


@pytest.fixture
def restores_determinism(monkeypatch):
    """torch's deterministic switch is process-wide: put it back for the tests that follow (and cuBLAS's setting)."""
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    before = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    yield
    torch.use_deterministic_algorithms(before[0], warn_only=before[1])


def test_deterministic_runs_record_it_switch_it_per_run_and_match_the_default_on_a_cpu(tmp_path, restores_determinism):
    assert main(sweep_args(tmp_path, "det", "--optimizers", "sgd", "--deterministic")) == 0
    assert torch.are_deterministic_algorithms_enabled()
    assert main(sweep_args(tmp_path, "plain", "--optimizers", "sgd")) == 0
    assert not torch.are_deterministic_algorithms_enabled()  # a later run without the flag is not deterministic
    det, plain = results(tmp_path, "det")["sgd_lr0.001_seed0"], results(tmp_path, "plain")["sgd_lr0.001_seed0"]
    assert (det["deterministic"], plain["deterministic"]) == (True, False)
    assert det["cuda_graphs"] is False and plain["cuda_graphs"] is False
    assert comparable(det) == comparable(plain)  # CPU kernels are deterministic already: same bits


def test_slots_record_how_many_runs_share_each_gpu():
    config = SweepConfig(accelerator="gpu")
    configs = slot_configs(config, Plan(3, (0, 1, 0)), 3)
    assert [c.devices for c in configs] == [[0], [1], [0]]
    assert [c.concurrent_runs for c in configs] == [2, 1, 2]


def record_holder(spec: RunSpec) -> str:
    """A stand-in run: notes which GPU slot ran it and when, in a file per run."""
    from optlab.sweep import pool as execute

    config = execute._slot_config
    started = time.time()
    time.sleep(0.2)
    Path(config.log_dir, f"{spec.run_id}.txt").write_text(f"{config.devices[0]} {started} {time.time()}")
    return spec.run_id


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_a_gpu_planned_for_one_run_never_holds_two(tmp_path, monkeypatch, start_method):
    monkeypatch.setenv("OPTLAB_START_METHOD", start_method)
    config = SweepConfig(accelerator="gpu", log_dir=str(tmp_path))
    todo = [RunSpec("sgd", 0.1, seed) for seed in range(6)]
    # Two GPUs with fake nvidia-smi plans: GPU 0 takes one run at a time, GPU 1 two.
    assert _run_parallel(config, todo, Plan(3, (0, 1, 1)), task=record_holder) == {}
    spans = {0: [], 1: []}
    for path in tmp_path.glob("*.txt"):
        device, start, end = path.read_text().split()
        spans[int(device)].append((float(start), float(end)))
    assert sum(len(v) for v in spans.values()) == 6
    for device, limit in ((0, 1), (1, 2)):
        for start, _ in spans[device]:
            holding = sum(1 for s, e in spans[device] if s <= start < e)
            assert holding <= limit, (device, spans[device])


def threads_after_parallel_work(spec: RunSpec) -> str:
    """A stand-in run doing CPU work big enough for OpenMP; notes the thread count it ran with."""
    from optlab.sweep import pool as execute

    torch.randn(2000, 2000).t().contiguous().sum()
    Path(execute._slot_config.log_dir, f"{spec.run_id}.txt").write_text(str(torch.get_num_threads()))
    return spec.run_id


FORK_AFTER_OPENMP = """
import sys, torch
from unittest import mock
from optlab.sweep.concurrency import Plan
from optlab.sweep.config import RunSpec, SweepConfig
from optlab.sweep.pool import run_parallel as _run_parallel
from tests.test_gpu_paths import threads_after_parallel_work
torch.set_num_threads(2)
torch.randn(3000, 3000).t().contiguous().sum()  # the parent's OpenMP team now exists
with mock.patch("os.cpu_count", return_value=8):
    config = SweepConfig(accelerator="gpu", log_dir=sys.argv[1])
    todo = [RunSpec("sgd", 0.1, seed) for seed in range(2)]
    failed = _run_parallel(config, todo, Plan(2, (0, 0)), task=threads_after_parallel_work)
sys.exit(1 if failed else 0)
"""


def test_forked_gpu_workers_survive_a_parent_that_used_openmp(tmp_path):
    """GNU OpenMP hangs a forked child that starts a thread team its parent had; workers keep to one thread."""
    done = subprocess.run([sys.executable, "-c", FORK_AFTER_OPENMP, str(tmp_path)], cwd=ROOT, timeout=120,
                          capture_output=True, text=True, env={**os.environ, "OPTLAB_START_METHOD": "fork"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(path.read_text() for path in tmp_path.glob("*.txt")) == ["1", "1"]


def test_a_batch_limit_of_one_is_one_batch_and_a_float_is_a_fraction():
    from optlab.run.trainer import _limit

    assert _limit(1) == 1 and isinstance(_limit(1), int)  # Lightning reads the float 1.0 as every batch
    assert _limit(1.0) == 1.0 and isinstance(_limit(1.0), float)
    assert _limit(0.25) == 0.25 and _limit(50) == 50 and _limit(None) is None
