"""The protocol holds: same batches for every optimizer of a seed, order set by seed and epoch, nothing mixed."""

import json
from collections import defaultdict

import pytest
import torch

import optlab.cli as cli
import optlab.sweep.execute as execute
from optlab.cli import main
from optlab.data import CIFAR10DataModule
from optlab.data.batch_transforms import normalize
from optlab.data.datamodule import TensorBatches
from optlab.run.evaluation import train_subset_indices
from optlab.run.loss_monitor import LossMonitor
from optlab.run.module import ImageClassifier
from optlab.sweep.config import SweepConfig
from optlab.sweep.validation import parse_shard
from tests.helpers import results, sweep_args

TRAIN_IMAGES = 360  # --synthetic-size 400 less the 40 held out for validation
BATCHES_PER_EPOCH = 12  # 360 / 32, the last batch partial


@pytest.fixture
def recorded_batches(monkeypatch):
    """Every batch of training indices each run fetches inside its Trainer, by run id, in order."""
    seen: dict[str, list[list[int]]] = defaultdict(list)
    current = {"run": None}
    fetch, run_one = TensorBatches.__getitems__, execute.run_one

    def record(self, indices):
        if len(self) == TRAIN_IMAGES:
            seen[current["run"]].append(list(indices))
        return fetch(self, indices)

    def tagged(config, spec, datamodule):
        current["run"] = spec.run_id
        return run_one(config, spec, datamodule)

    monkeypatch.setattr(TensorBatches, "__getitems__", record)
    monkeypatch.setattr(execute, "run_one", tagged)
    return seen


def test_every_optimizer_of_a_seed_trains_on_the_same_batches_and_order_follows_seed_and_epoch(
        tmp_path, recorded_batches):
    assert main(sweep_args(tmp_path, "order", "--optimizers", "sgd", "adam", "--seeds", "0", "1")) == 0
    for seed in (0, 1):
        sgd, adam = recorded_batches[f"sgd_lr0.001_seed{seed}"], recorded_batches[f"adam_lr0.001_seed{seed}"]
        assert len(sgd) == 2 * BATCHES_PER_EPOCH and sgd == adam
        first, second = sgd[:BATCHES_PER_EPOCH], sgd[BATCHES_PER_EPOCH:]
        assert sorted(sum(first, [])) == list(range(TRAIN_IMAGES)) == sorted(sum(second, []))
        assert first != second  # a new order every epoch
    assert recorded_batches["sgd_lr0.001_seed0"] != recorded_batches["sgd_lr0.001_seed1"]  # and every seed


def test_a_resumed_run_trains_on_the_batches_of_an_unbroken_one(tmp_path, recorded_batches, monkeypatch):
    assert main(sweep_args(tmp_path, "whole", "--optimizers", "sgd")) == 0
    whole = list(recorded_batches.pop("sgd_lr0.001_seed0"))
    start = LossMonitor.on_train_epoch_start

    def stop_in_epoch_two(self, trainer, pl_module):
        if trainer.current_epoch == 1:
            raise RuntimeError("stopped before the second epoch")
        start(self, trainer, pl_module)

    monkeypatch.setattr(LossMonitor, "on_train_epoch_start", stop_in_epoch_two)
    assert main(sweep_args(tmp_path, "broken", "--optimizers", "sgd")) == 1
    assert len(recorded_batches["sgd_lr0.001_seed0"]) == BATCHES_PER_EPOCH
    monkeypatch.setattr(LossMonitor, "on_train_epoch_start", start)
    assert main(sweep_args(tmp_path, "broken", "--optimizers", "sgd")) == 0
    assert results(tmp_path, "broken")["sgd_lr0.001_seed0"]["resumed"]
    assert recorded_batches["sgd_lr0.001_seed0"] == whole


def test_runs_interleave_optimizers_seed_major_and_shards_still_split_the_grid():
    config = SweepConfig(optimizers=["sgd", "adam"], lrs=[0.1, 0.01], seeds=[0, 1])
    assert [spec.run_id for spec in config.runs()[:4]] == [
        "sgd_lr0.1_seed0", "adam_lr0.1_seed0", "sgd_lr0.01_seed0", "adam_lr0.01_seed0"]
    shards = []
    for k in (1, 2, 3):
        config.shard = f"{k}/3"
        parse_shard(config.shard)
        shards += [spec.run_id for spec in config.shard_runs()]
    assert sorted(shards) == sorted(spec.run_id for spec in config.runs()) and len(set(shards)) == 8


def test_mixing_world_sizes_in_one_folder_is_refused_with_one_line(tmp_path, capsys):
    assert main(sweep_args(tmp_path, "mixed", "--optimizers", "sgd", "--max-epochs", "1")) == 0
    path = tmp_path / "mixed" / "results" / "sgd_lr0.001_seed0.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "world_size": 2}))
    capsys.readouterr()
    assert main(sweep_args(tmp_path, "mixed", "--optimizers", "sgd", "adam", "--max-epochs", "1")) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "world size 2" in err and "\n" not in err
    assert not (tmp_path / "mixed" / "adam").exists()
    assert not (tmp_path / "mixed" / "results" / "adam_lr0.001_seed0.json").exists()


def test_val_every_resolves_time_to_target_to_each_check(tmp_path):
    assert main(sweep_args(tmp_path, "fine", "--optimizers", "adam", "--lr", "1e-2", "--val-every", "0.5")) == 0
    run = results(tmp_path, "fine")["adam_lr0.01_seed0"]
    assert [check["epoch"] for check in run["val_checks"]] == [0.5, 1.0, 1.5, 2.0]
    assert [check["step"] for check in run["val_checks"]] == [6, 12, 18, 24]
    assert run["val_checks"][1]["val_acc"] == pytest.approx(run["epochs"][0]["val_acc"])
    reached = next(check for check in run["val_checks"] if check["val_acc"] >= 0.3)
    assert run["time_to_target"] == {"epoch": reached["epoch"], "step": reached["step"],
                                     "seconds": reached["train_seconds"]}


def test_train_accuracy_of_the_gap_equals_an_independent_bf16_evaluation_of_the_final_weights(tmp_path):
    args = sweep_args(tmp_path, "bf16", "--optimizers", "adam", "--lr", "1e-2", "--precision", "bf16-mixed",
                      "--keep-checkpoints")
    assert main(args) == 0
    run = results(tmp_path, "bf16")["adam_lr0.01_seed0"]
    checkpoint = tmp_path / "bf16" / "adam" / "lr0.01_seed0" / "checkpoints" / "last.ckpt"
    model = ImageClassifier.load_from_checkpoint(checkpoint, map_location="cpu").eval()
    data = CIFAR10DataModule(dataset="synthetic", synthetic_size=400, batch_size=32)
    data.setup()
    subset = train_subset_indices(5000, len(data.train_set))
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        predicted = model(normalize(data.train_set.images[subset])).argmax(1)
    assert run["final_train_acc"] == int((predicted == data.train_set.labels[subset]).sum()) / len(subset)


def test_a_multi_optimizer_sweep_with_fewer_than_three_seeds_is_warned_before_it_runs(tmp_path, capsys,
                                                                                      monkeypatch):
    # The sweep itself is replaced: the warning comes once the settings are valid, before any run.
    monkeypatch.setattr(cli, "_sweep_one_problem", lambda config, several, resume: 2)
    assert main(sweep_args(tmp_path, "few", "--optimizers", "sgd", "adam", "--seeds", "0", "1")) == 2
    assert "warning: 2 seeds: the report needs at least 3" in capsys.readouterr().out
    assert main(sweep_args(tmp_path, "enough", "--optimizers", "sgd", "adam", "--seeds", "0", "1", "2")) == 2
    out = capsys.readouterr().out
    assert "needs at least 3" not in out
    assert "a 2-point difference is found with" in out  # 3 seeds can decide, but with little power: said
    # A bad setting is the only line: no warning before it.
    assert main(sweep_args(tmp_path, "bad", "--optimizers", "sgd", "adam", "--seeds", "0", "--max-epochs", "0")) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "--max-epochs" in err
