"""A grid per optimizer: --lrs auto / default / NAME=..., and --optimizer-args qualified by optimizer."""

import pytest

from optlab.cli import build_parser, config_from_args
from optlab.errors import OptlabError
from optlab.optimizers.registry import OPTIMIZERS
from optlab.records.order import folder_name
from optlab.sweep.config import SweepConfig


def resolved(*flags: str) -> SweepConfig:
    config = config_from_args(build_parser().parse_args(["--dataset", "synthetic", *flags]))
    config.validate()
    return config


def test_auto_gives_each_optimizer_its_own_range_and_a_plain_list_still_applies_to_all():
    config = resolved("--optimizers", "sgd", "adam", "muon", "--lrs", "auto")
    for name in ("sgd", "adam", "muon"):
        assert config.lr_grid(name) == list(OPTIMIZERS[name].lr_grid)
    # Interleaved: each optimizer's first lr, then each one's second, ... (seed-major)
    assert [(r.optimizer, r.lr) for r in config.runs()][:4] == [
        ("sgd", OPTIMIZERS["sgd"].lr_grid[0]), ("adam", OPTIMIZERS["adam"].lr_grid[0]),
        ("muon", OPTIMIZERS["muon"].lr_grid[0]), ("sgd", OPTIMIZERS["sgd"].lr_grid[1])]
    assert sorted((r.optimizer, r.lr) for r in config.runs()) == sorted(
        (name, lr) for name in ("sgd", "adam", "muon") for lr in OPTIMIZERS[name].lr_grid)
    plain = resolved("--optimizers", "sgd", "adam", "--lrs", "1e-3", "1e-2")
    assert plain.lr_grid("sgd") == plain.lr_grid("adam") == [1e-3, 1e-2] and plain.optimizer_lrs == {}


def test_named_grids_override_the_shared_choice():
    config = resolved("--optimizers", "sgd", "adam", "prodigy", "--lrs", "adam=1e-4,3e-4", "sgd=auto", "default")
    assert config.lr_grid("adam") == [1e-4, 3e-4]
    assert config.lr_grid("sgd") == list(OPTIMIZERS["sgd"].lr_grid)
    assert config.lr_grid("prodigy") == [1.0]
    only_named = resolved("--optimizers", "sgd", "adam", "--lrs", "adam=1e-4")
    assert only_named.lr_grid("sgd") == [1e-3] and only_named.lr_grid("adam") == [1e-4]
    assert len(only_named.runs()) == 2


@pytest.mark.parametrize("flags, message", [
    (["--optimizers", "adam", "--lrs", "adamw=1e-3"], "gives lrs for 'adamw', which is not in --optimizers"),
    (["--optimizers", "adam", "--lrs", "auto", "1e-3"], "takes one choice for all optimizers"),
    (["--optimizers", "adam", "--lrs", "adam=fast"], "'fast' is not a number"),
    (["--optimizers", "adam", "--lrs", "adam=-1"], "learning rate must be a finite number > 0"),
    (["--optimizers", "adam", "--lrs", "adam=1e-3,1e-3"], "repeat a value"),
    (["--optimizers", "sgd", "momentum", "--optimizer-args", "betas=0.9"], "no optimizer of this sweep takes argument"),
    (["--optimizers", "sgd", "--optimizer-args", "betas=0.9"], "'sgd' takes no argument 'betas'; it takes: momentum"),
    (["--optimizers", "sgd", "--optimizer-args", "adam.betas=0.9,0.99"], "qualifies 'adam', which is not in"),
    (["--optimizers", "sgd", "adam", "--optimizer-args", "sgd.betas=0.9,0.99"], "'sgd' takes no argument 'betas'"),
    (["--optimizers", "adam", "--families", "sgd=adaptive"], "--families names 'sgd', which is not in"),
    (["--optimizers", "adam", "--families", "adam=fast"], "declares family 'fast'; choose from"),
])
def test_bad_grids_and_arguments_are_one_line(flags, message):
    with pytest.raises(OptlabError) as error:
        resolved(*flags)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_unqualified_arguments_go_to_every_optimizer_that_takes_them_and_qualified_ones_to_one():
    config = resolved("--optimizers", "sgd", "adam", "lion", "--optimizer-args", "betas=0.9,0.99",
                      "weight_decay=5e-4", "adam.eps=1e-6", "sgd.momentum=0.5")
    assert config.optimizer_arguments("sgd") == {"weight_decay": 5e-4, "momentum": 0.5}
    assert config.optimizer_arguments("adam") == {"betas": (0.9, 0.99), "weight_decay": 5e-4, "eps": 1e-6}
    assert config.optimizer_arguments("lion") == {"betas": (0.9, 0.99), "weight_decay": 5e-4}


def test_plugin_names_become_safe_folder_names():
    assert folder_name("adam") == "adam" and folder_name("schedulefree_adamw") == "schedulefree_adamw"
    assert folder_name("./opts/my_opt.py:MyOpt") == "opts-my_opt.py-MyOpt"
    assert folder_name("my_pkg.opts:Fast") == "my_pkg.opts-Fast"


def test_a_shared_lr_far_from_an_optimizers_own_scale_gets_one_warning_line():
    from optlab.sweep.grid import off_scale_lrs

    config = SweepConfig(optimizers=["adam", "rmsprop", "prodigy", "schedulefree_sgd", "adadelta"])
    config.validate()
    line = off_scale_lrs(config.optimizers, config.lrs, config.optimizer_lrs)
    assert line.count("\n") == 0 and "--lrs default" in line
    assert "prodigy (default lr 1)" in line and "schedulefree_sgd" in line and "adadelta" in line
    assert "adam" not in line.replace("schedulefree_adamw", "") and "rmsprop" not in line  # 1e-3 and 1e-2: near
    for lrs in ("default", "auto"):
        config = SweepConfig(optimizers=["adam", "prodigy"], lrs=lrs)
        config.validate()
        assert off_scale_lrs(config.optimizers, config.lrs, config.optimizer_lrs) is None
        assert off_scale_lrs(["prodigy"], lrs, {}) is None  # as the sweep asks, before the keywords are resolved


def test_the_sweep_warns_of_off_scale_lrs_up_front_and_not_under_lrs_default(tmp_path, capsys, monkeypatch):
    import optlab.cli
    from optlab.cli import main

    # The sweep itself is replaced: the warnings come once the settings are valid, before any run.
    monkeypatch.setattr(optlab.cli, "_sweep_one_problem", lambda config, several, resume: 2)
    assert main(["--optimizers", "adam", "prodigy", "--log-dir", str(tmp_path)]) == 2
    assert "warning: prodigy (default lr 1) run the shared lr 0.001" in capsys.readouterr().out
    assert main(["--optimizers", "adam", "prodigy", "--lrs", "default", "--log-dir", str(tmp_path)]) == 2
    assert "prodigy (default lr" not in capsys.readouterr().out
