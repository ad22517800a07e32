"""--config sweep.yaml: every flag as a key, command-line flags override, bad files are one line."""

from pathlib import Path

import pytest

from optlab.cli import build_parser, config_from_args, main
from optlab.errors import OptlabError
from optlab.optimizers.registry import OPTIMIZERS
from optlab.sweep.config import SweepConfig
from tests.helpers import ROOT

SWEEP_FILE = """
optimizers: [sgd, adam, lion]
lrs: {all: [0.01, 0.1], adam: [1e-4, 3e-4]}
seeds: [0, 1]
optimizer-args: {weight_decay: 5e-4, adam: {betas: [0.9, 0.99]}}
max_epochs: 4
augment: true
limit_train_batches: 0.5
"""


def configured(path: Path, *flags: str) -> SweepConfig:
    argv = ["--config", str(path), "--dataset", "synthetic", *flags]
    config = config_from_args(build_parser().parse_args(argv))
    config.validate()
    return config


def test_the_file_sets_everything_and_command_line_flags_win(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text(SWEEP_FILE)
    config = configured(path, "--max-epochs", "2", "--seeds", "3")
    assert config.optimizers == ["sgd", "adam", "lion"] and config.seeds == [3] and config.max_epochs == 2
    assert config.augment and config.limit_train_batches == 0.5
    assert config.lr_grid("sgd") == [0.01, 0.1] and config.lr_grid("adam") == [1e-4, 3e-4]
    assert config.optimizer_arguments("adam") == {"weight_decay": 5e-4, "betas": (0.9, 0.99)}
    assert config.optimizer_arguments("sgd") == {"weight_decay": 5e-4}


def test_the_example_compares_every_registry_optimizer_on_its_own_grid():
    config = configured(ROOT / "configs" / "all-optimizers.yaml")
    assert set(config.optimizers) == set(OPTIMIZERS)
    assert all(len(config.lr_grid(name)) >= 4 for name in config.optimizers)
    assert len(config.seeds) == 3 and config.max_epochs >= 10 and config.augment


@pytest.mark.parametrize("text, message", [
    ("max_epochs: 3\nepochz: 2\n", "unknown key 'epochz'"),
    ("augment: maybe\n", "augment must be true or false"),
    ("optimizers: [adam\n", "is not valid YAML"),
    ("- adam\n", "must hold a mapping of settings"),
])
def test_a_bad_sweep_file_is_one_line(tmp_path, text, message):
    path = tmp_path / "sweep.yaml"
    path.write_text(text)
    with pytest.raises(OptlabError) as error:
        configured(path)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_a_missing_sweep_file_exits_2_with_one_line(tmp_path, capsys):
    assert main(["--config", str(tmp_path / "nope.yaml"), "--log-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: cannot read --config") and "\n" not in err


def test_the_problem_is_a_key_as_the_flag_is_named(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text("problem: deepobs_3c3d\noptimizers: [adam]\n")
    config = configured(path)
    assert config.problem == "deepobs_3c3d" and config.batch_size == 128
