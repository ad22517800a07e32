"""--print_config writes the sweep file of the flags given; --config with that file is the same sweep."""

import dataclasses
from pathlib import Path

import pytest
import yaml

from optlab.cli import build_parser, configs_from_args, main
from optlab.sweep.config import SweepConfig
from optlab.sweep.schema import ENTRY_FIELDS, flag_of
from optlab.sweep.sweep_file import KEYS

BASE = ["--dataset", "synthetic", "--accelerator", "cpu"]


def printed(capsys, folder: Path, flags: list[str]) -> Path:
    """The file --print_config printed for flags; asserts exit 0, nothing else printed, nothing written."""
    capsys.readouterr()
    assert main([*flags, "--print_config"]) == 0
    out, err = capsys.readouterr()
    assert err == "" and isinstance(yaml.safe_load(out), dict)
    assert not (folder / "logs").exists()
    path = folder / "printed.yaml"
    path.write_text(out)
    return path


def settings(*argv: str) -> list[SweepConfig]:
    return configs_from_args(build_parser().parse_args(list(argv)))


def assert_same_sweep(flags: list[str], path: Path) -> None:
    given, loaded = settings(*flags), settings("--config", str(path))
    assert [dataclasses.asdict(config) for config in given] == [dataclasses.asdict(config) for config in loaded]
    for config in (*given, *loaded):
        config.validate()
    assert [dataclasses.asdict(config) for config in given] == [dataclasses.asdict(config) for config in loaded]
    for one, other in zip(given, loaded, strict=True):
        assert one.protocol() == other.protocol() and one.runs() == other.runs()


@pytest.mark.parametrize("flags", [
    ["--optimizers", "sgd", "adam", "--lrs", "1e-3", "1e-2", "--seeds", "0", "1", "2", "--max-epochs", "3"],
    ["--optimizers", "sgd,adam", "--search", "qmc", "--trials", "4", "--confirm-seeds", "7,8,9"],
    ["--optimizers", "sgd", "adam", "lion", "--lrs", "adam=1e-4,3e-4", "sgd=auto", "default",
     "--optimizer-args", "weight_decay=5e-4", "adam.betas=0.9,0.99", "lion.betas=0.95,0.98", "--seeds", "0,1,2"],
    ["--optimizers", "adam", "--quick", "--devices", "0,1", "--no-augment", "--precision", "bf16-mixed"],
    ["--problem", "seed_cnn", "deepobs_3c3d", "--optimizers", "adam", "--batch-size", "16", "--name", "suite"],
], ids=["grid", "search", "named-lrs-and-arguments", "quick", "two-problems"])
def test_the_printed_file_given_back_is_the_same_sweep(flags, capsys, tmp_path):
    flags = [*BASE, "--log-dir", str(tmp_path / "logs"), *flags]
    path = printed(capsys, tmp_path, flags)
    assert_same_sweep(flags, path)
    assert printed(capsys, tmp_path, ["--config", str(path)]).read_text() == path.read_text()  # a fixed point


def test_the_printed_file_states_the_settings_as_given(capsys, tmp_path):
    flags = [*BASE, "--log-dir", str(tmp_path / "logs"), "--optimizers", "sgd", "adam", "--lrs", "auto",
             "adam=1e-4", "--optimizer-args", "adam.eps=1e-6", "--quick", "--max-epochs", "2"]
    text = printed(capsys, tmp_path, flags).read_text()
    values = yaml.safe_load(text)
    assert values["lrs"] == {"all": "auto", "adam": [1e-4]} and values["optimizer_kwargs"] == {"adam.eps": 1e-6}
    assert (values["limit_train_batches"], values["limit_eval_batches"], values["max_epochs"]) == (50, 2, 2)
    assert "quick" not in values and "batch_size" not in values and "augment" not in values
    assert text.startswith("# left out, so the problem's defaults hold: l2, batch_size, target_acc, augment\n")


def test_flags_given_with_a_file_win_and_are_printed(capsys, tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text("optimizers: [sgd, adam]\nmax_epochs: 4\nseeds: [0, 1]\n")
    flags = [*BASE, "--log-dir", str(tmp_path / "logs"), "--config", str(path), "--seeds", "5"]
    values = yaml.safe_load(printed(capsys, tmp_path, flags).read_text())
    assert (values["optimizers"], values["max_epochs"], values["seeds"]) == (["sgd", "adam"], 4, [5])


@pytest.mark.parametrize("flags, message", [
    (["--max-epochs", "0"], "--max-epochs must be an integer >= 1, got 0"),
    (["--optimizers", "adam", "--lrs", "sgd=1e-3"], "gives lrs for 'sgd', which is not in --optimizers"),
])
def test_bad_settings_are_refused_not_printed(flags, message, capsys, tmp_path):
    capsys.readouterr()
    assert main([*BASE, "--log-dir", str(tmp_path / "logs"), *flags, "--print_config"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and message in err
    assert not (tmp_path / "logs").exists()


@pytest.mark.parametrize("text, message", [
    ("max_epochs: 3\nepochz: 2\n", "unknown key 'epochz' in "),
    ("trials: eight\n", "--trials must be an integer >= 1, got 'eight'"),
    ("optimizer_args: [weight_decay]\n", "--optimizer-args takes KEY=VALUE, got 'weight_decay'"),
])
def test_a_file_with_an_unknown_key_or_a_wrong_type_is_one_line_and_exit_2(text, message, capsys, tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text(text)
    capsys.readouterr()
    assert main([*BASE, "--log-dir", str(tmp_path / "logs"), "--config", str(path), "--print_config"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("error: ") and err.count("\n") == 1 and message in err
    assert not (tmp_path / "logs").exists()


def test_every_setting_a_user_gives_has_its_flag_and_its_key():
    text = build_parser().format_help()
    for item in ENTRY_FIELDS:
        assert flag_of(item.name) in text and KEYS[item.name] == item.name, item.name


def test_comma_lists_are_their_items():
    (config,) = settings("--optimizers", "sgd,adam", "lion", "--seeds", "0,1", "2", "--devices", "0,1")
    assert config.optimizers == ["sgd", "adam", "lion"] and config.seeds == [0, 1, 2] and config.devices == [0, 1]
