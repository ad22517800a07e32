"""A run takes frozen RunSettings and imports nothing of the sweep; the sweep folder records its world size."""

import ast
import dataclasses
import json
from pathlib import Path

import pytest

from optlab.data import CIFAR10DataModule
from optlab.errors import OptlabError
from optlab.run.runner import check_world_size
from optlab.sweep.config import RunSpec, SweepConfig
from optlab.sweep.folder import claim_sweep_folder
from optlab.sweep.run_settings import settings_for
from tests.helpers import ROOT

RUN_MAY_IMPORT = {"records", "data", "problems", "optimizers", "schedules", "atomic", "errors", "checks", "hardware",
                  "run"}


def test_the_run_side_imports_only_what_both_sides_share():
    for path in sorted((ROOT / "optlab" / "run").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([node.module] if isinstance(node, ast.ImportFrom) and node.module else
                     [alias.name for alias in node.names] if isinstance(node, ast.Import) else [])
            for name in names:
                if name.startswith("optlab."):
                    assert name.split(".")[1] in RUN_MAY_IMPORT, f"{path.name} imports {name}"


def test_settings_are_frozen_and_hold_the_runs_resolved_arguments(tmp_path):
    config = SweepConfig(optimizers=["adam"], optimizer_kwargs={"weight_decay": 0.1, "adam.eps": 1e-6},
                         log_dir=str(tmp_path), devices=[0])
    settings = settings_for(config, RunSpec("adam", 1e-3, 0, arguments=(("eps", 1e-7),)))
    assert settings.optimizer_kwargs == {"weight_decay": 0.1, "eps": 1e-7} and settings.family == "adaptive"
    assert settings.trainer_devices == [0] and settings.sweep_dir == config.sweep_dir
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.max_epochs = 3


def test_a_run_at_another_world_size_than_its_folders_refuses(tmp_path):
    settings = settings_for(SweepConfig(log_dir=str(tmp_path)), RunSpec("sgd", 0.1, 0), world_size=2)
    check_world_size(settings, 2)
    with pytest.raises(OptlabError, match="world size 2 and this run has 1"):
        check_world_size(settings, 1)
    check_world_size(dataclasses.replace(settings, world_size=None), 1)  # not checked


def test_each_run_gets_its_own_seed_and_the_shared_data_is_left_as_it_was():
    shared = CIFAR10DataModule(dataset="synthetic", synthetic_size=100, batch_size=8)
    shared.setup()
    run = shared.with_seed(7)
    assert (run.seed, shared.seed) == (7, 0)
    assert run.train_set is shared.train_set and run.load_arrays() is shared.load_arrays()  # placed once


def manifest(config: SweepConfig) -> dict:
    return json.loads((config.sweep_dir / "sweep.json").read_text())


def test_the_folder_records_its_world_size_and_refuses_another(tmp_path):
    config = SweepConfig(log_dir=str(tmp_path), name="sized")
    claim_sweep_folder(config, world_size=2)
    assert manifest(config)["world_size"] == 2
    with pytest.raises(OptlabError, match="world size 2 \\(sweep.json\\)"):
        claim_sweep_folder(config, world_size=1)
    claim_sweep_folder(config)  # no world size given: the recorded one is kept
    assert manifest(config)["world_size"] == 2


def test_a_folder_from_before_the_field_is_checked_against_its_results(tmp_path):
    config = SweepConfig(log_dir=str(tmp_path), name="old")
    claim_sweep_folder(config)
    assert "world_size" not in manifest(config)
    results = Path(config.sweep_dir, "results")
    results.mkdir()
    record = {"run_id": "sgd_lr0.001_seed0", "optimizer": "sgd", "lr": 1e-3, "seed": 0, "test_acc": 0.5,
              "epochs": [], "world_size": 2}
    (results / "sgd_lr0.001_seed0.json").write_text(json.dumps(record))
    with pytest.raises(OptlabError, match="world size 2 \\(sgd_lr0.001_seed0\\)"):
        claim_sweep_folder(config, world_size=1)
    claim_sweep_folder(config, world_size=2)
    assert manifest(config)["world_size"] == 2
