"""Every value a sweep accepts is checked once, before anything is written: one line, exit 2, no traceback."""

import dataclasses
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import optlab.cli
from optlab.checks import MAX_RUNS_WITHOUT_YES
from optlab.cli import main
from optlab.sweep.config import SweepConfig
from optlab.sweep.schema import FIELD_CHECKS
from tests.helpers import run_script

BASE = ["--dataset", "synthetic", "--accelerator", "cpu", "--no-progress-bar"]


@pytest.fixture(autouse=True)
def no_training(monkeypatch):
    """A case that passes validation must fail the test, not start a sweep."""

    def refuse(config, several, **_):
        raise AssertionError(f"validation passed; the sweep would have run: {config}")

    monkeypatch.setattr(optlab.cli, "_sweep_one_problem", refuse)


def refused(argv: list[str], capsys, log_dir: Path) -> str:
    """The one line main printed for argv; asserts exit 2, nothing else printed, nothing written."""
    capsys.readouterr()  # an earlier example's output is not this one's
    try:
        code = main([*BASE, "--log-dir", str(log_dir), *argv])
    except SystemExit as exit_info:  # argparse's own errors
        code = exit_info.code
    out, err = capsys.readouterr()
    assert code == 2, (argv, err)
    assert out == "" and err.startswith("error: ") and err.count("\n") == 1, (argv, out, err)
    assert "Traceback" not in err
    assert not log_dir.exists(), argv
    return err.strip()


def refused_file(text: str, capsys, folder: Path, *flags: str) -> str:
    path = folder / "sweep.yaml"
    path.write_text(text)
    return refused(["--config", str(path), *flags], capsys, folder / "logs")


# One strategy per kind of value: numbers out of range, then values of the wrong type.
NAN_INF = st.sampled_from([math.inf, -math.inf, math.nan])
NOT_WHOLE = st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: not x.is_integer())
WORDS = st.sampled_from(["abc", "", "1.2.3", "ten", "0x", "[1", "None"])
WRONG_TYPES = st.one_of(st.booleans(), WORDS, st.lists(st.integers(1, 5), min_size=1, max_size=3),
                        st.lists(st.lists(st.integers(1, 5), min_size=1), min_size=1, max_size=2),
                        st.dictionaries(st.sampled_from(["a", "b"]), st.integers(), min_size=1))


def count_below(minimum: int) -> st.SearchStrategy:
    return st.one_of(st.integers(max_value=minimum - 1), NOT_WHOLE, NAN_INF)


OUT_OF_RANGE = {
    "batch_size": count_below(1), "max_epochs": count_below(1), "num_nodes": count_below(1),
    "synthetic_size": count_below(20), "val_size": count_below(0),
    "seeds": st.one_of(st.integers(max_value=-1), st.integers(min_value=2**32), NOT_WHOLE, NAN_INF),
    "max_loss": st.one_of(st.floats(max_value=0), NAN_INF), "claim_timeout": st.floats(max_value=0) | NAN_INF,
    "l2": st.one_of(st.floats(max_value=-1e-300), NAN_INF), "warmup_epochs": st.floats(max_value=-1e-300) | NAN_INF,
    "target_acc": st.one_of(st.floats(max_value=0), st.floats(min_value=1, exclude_min=True), NAN_INF),
    "val_every": st.one_of(st.floats(max_value=0), st.floats(min_value=1, exclude_min=True), NAN_INF),
    "limit_train_batches": st.one_of(st.integers(max_value=0), st.floats(max_value=0),
                                     st.floats(min_value=1, exclude_min=True), NAN_INF),
}
# Fields whose null in a sweep file means "the problem's default" (or "not set"): None is a valid value there.
NULL_IS_DEFAULT = {"batch_size", "max_epochs", "l2", "target_acc", "val_size", "limit_train_batches"}


def flag_text(value: float | int) -> str:
    return repr(value) if isinstance(value, float) else str(value)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(sorted(OUT_OF_RANGE)), data=st.data())
def test_a_flag_out_of_range_or_of_the_wrong_form_is_one_line_and_writes_nothing(field, data, capsys):
    value = data.draw(st.one_of(OUT_OF_RANGE[field].map(flag_text), WORDS.filter(bool)), label="value")
    with tempfile.TemporaryDirectory() as folder:
        refused(["--optimizers", "sgd", f"--{field.replace('_', '-')}={value}"], capsys, Path(folder) / "logs")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(sorted(OUT_OF_RANGE)), spelling=st.sampled_from(["_", "-"]), data=st.data())
def test_a_sweep_file_value_of_the_wrong_type_or_range_is_one_line_and_writes_nothing(field, spelling, data,
                                                                                      capsys):
    wrong = st.one_of(OUT_OF_RANGE[field], WRONG_TYPES)
    if field == "seeds":  # a list of seeds is the right type: a bad scalar, or a list with a bad seed in it
        nested = st.lists(st.lists(st.integers(), min_size=1), min_size=1)
        bad = st.one_of(OUT_OF_RANGE[field], st.booleans(), WORDS, nested, st.none())
        wrong = st.one_of(bad, st.lists(bad, min_size=1, max_size=3).map(lambda seeds: [0, *seeds]))
    elif field not in NULL_IS_DEFAULT:
        wrong = st.one_of(wrong, st.none())
    value = data.draw(wrong, label="value")
    with tempfile.TemporaryDirectory() as folder:
        refused_file(yaml.safe_dump({field.replace("_", spelling): value}), capsys, Path(folder))


# log_dir, dataset and accelerator are left out: the tests give them as flags, which override the file.
TEXT_SETTINGS = ["name", "data_dir", "shard", "schedule", "compile_mode", "cuda_graphs", "precision", "strategy"]
SWITCHES = ["channels_last", "compile", "fused", "deterministic", "restart", "keep_checkpoints", "yes", "augment"]
NOT_TEXT = st.one_of(st.booleans(), st.none(), st.lists(st.integers(1, 5), min_size=1, max_size=3),
                     st.lists(st.lists(st.text(max_size=3), min_size=1), min_size=1, max_size=2),
                     st.dictionaries(st.sampled_from(["a", "b"]), st.integers(), min_size=1))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(TEXT_SETTINGS + SWITCHES), data=st.data())
def test_a_sweep_file_text_or_switch_of_the_wrong_type_is_one_line(field, data, capsys):
    wrong = NOT_TEXT if field in TEXT_SETTINGS else st.one_of(NOT_TEXT.filter(lambda v: not isinstance(v, bool)),
                                                               WORDS, st.integers(), st.floats())
    value = data.draw(wrong, label="value")
    with tempfile.TemporaryDirectory() as folder:
        refused_file(yaml.safe_dump({field: value}), capsys, Path(folder))


def test_every_setting_has_a_check():
    assert set(FIELD_CHECKS) == {item.name for item in dataclasses.fields(SweepConfig)}


# The cases found by hand, each with the words its line must hold.
@pytest.mark.parametrize("flags, message", [
    (["--seeds", "-1"], "--seeds must be an integer from 0 to 2**32-1, got -1"),
    (["--seeds", "99999999999"], "--seeds must be an integer from 0 to 2**32-1"),
    (["--limit-train-batches", "1.5"], "--limit-train-batches must be a fraction in (0, 1]"),
    (["--limit-train-batches", "0"], "--limit-train-batches must be a fraction in (0, 1]"),
    (["--lr", "inf"], "must be a finite number > 0, got inf"),
    (["--max-loss", "-1"], "--max-loss must be a finite number > 0"),
    (["--devices", "0,a"], "--devices must be a count, a list like 0,1, or auto"),
    (["--optimizers", "adam", "--optimizer-args", "adam.betas=0.9"],
     "adam.betas=0.9: betas takes two numbers, e.g. adam.betas=0.9,0.999"),
    (["--optimizers", "adam", "--optimizer-args", "betas=0.9"], "betas=0.9: betas takes two numbers"),
    (["--optimizers", "adam", "--optimizer-args", "adam.eps=a,b"], "adam.eps=a,b: eps takes one finite number"),
])
def test_a_bad_flag_is_one_line_naming_it(flags, message, capsys, tmp_path):
    assert message in refused(flags, capsys, tmp_path / "logs")


def test_a_rejected_optimizer_argument_names_only_what_was_given(capsys, tmp_path):
    line = refused(["--optimizers", "adam", "--optimizer-args", "adam.betas=0.9,1.5"], capsys, tmp_path / "logs")
    assert "rejected betas=0.9,1.5" in line and "foreach" not in line


@pytest.mark.parametrize("text, message", [
    ("seeds: [0, 1.5]\n", "--seeds must be an integer from 0 to 2**32-1, got 1.5"),
    ("seeds: [true]\n", "--seeds must be an integer from 0 to 2**32-1, got True"),
    ("seeds: [99999999999]\n", "--seeds must be an integer"),
    ("max_epochs: 2.5\n", "--max-epochs must be an integer >= 1, got 2.5"),
    ("max_epochs: true\n", "--max-epochs must be an integer >= 1, got True"),
    ("max_epochs: 2\nmax_epochs: 3\n", "'max_epochs' is given twice (again at line 2)"),
    ("max_epochs: 2\nmax-epochs: 3\n", "sets max_epochs twice, as 'max_epochs' and 'max-epochs'"),
    ("seed: 1\nseeds: [2]\n", "sets seeds twice"),
    ("lrs: {adam: 1e-3, adam: 1e-2}\noptimizers: [adam]\n", "'adam' is given twice"),
    ("optimizers: [[adam]]\n", "--optimizers must be"),
    ("shard: 1\n", "--shard must look like K/N"),
    ("name: [a]\n", "--name must be a non-empty text"),
    ("warmup_epochs: true\n", "--warmup-epochs must be a finite number >= 0"),
    ("parallel: true\n", "--parallel must be an integer >= 1"),
    ("optimizer_args: {adam: {betas: 0.9}}\noptimizers: [adam]\n", "adam.betas=0.9: betas takes two numbers"),
])
def test_a_bad_sweep_file_value_is_one_line_naming_it(text, message, capsys, tmp_path):
    assert message in refused_file(text, capsys, tmp_path)


def test_a_binary_sweep_file_is_one_line(capsys, tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    assert "is not a text file" in refused(["--config", str(path)], capsys, tmp_path / "logs")


def test_a_plugin_lr_grid_that_is_not_lrs_is_one_line_naming_the_attribute(capsys, tmp_path):
    (tmp_path / "fast.py").write_text("import torch\n\nclass Fast(torch.optim.SGD):\n"
                                      "    optlab_lr_grid = ('fast', -1)\n")
    for lrs in ("auto", "default"):
        line = refused(["--optimizers", f"{tmp_path}/fast.py:Fast", "--lrs", lrs], capsys, tmp_path / "logs")
        assert "optlab_lr_grid must be a tuple of learning rates" in line and "('fast', -1)" in line


def test_a_plugin_that_exits_when_imported_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "quits.py").write_text("import sys\nsys.exit(0)\n")
    done = run_script("--optimizers", f"{tmp_path}/quits.py:Opt", "--dataset", "synthetic",
                      "--log-dir", str(tmp_path / "logs"), timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "called sys.exit(0)" in done.stderr
    assert not (tmp_path / "logs").exists()


def test_a_grid_above_the_limit_needs_yes_and_states_its_size(capsys, tmp_path):
    lrs = [f"{(i + 1) * 1e-4:.4f}" for i in range(500)]
    flags = ["--optimizers", "sgd", "adam", "--lrs", *lrs, "--seeds", "0", "1", "--max-epochs", "3"]
    line = refused(flags, capsys, tmp_path / "logs")
    assert "2,000 runs (2 optimizers × 500 lrs × 2 seeds), 6,000 epochs of training" in line and "--yes" in line
    config = SweepConfig(optimizers=["sgd", "adam"], lrs=[float(lr) for lr in lrs], seeds=[0, 1], yes=True)
    config.validate()
    assert len(config.runs()) == 2000 > MAX_RUNS_WITHOUT_YES


def test_the_grid_size_line_counts_one_optimizer_and_one_seed_in_the_singular(capsys, tmp_path):
    flags = ["--optimizers", "sgd", "--lrs", *[f"{(i + 1) * 1e-5:.5f}" for i in range(1500)], "--seeds", "0"]
    line = refused(flags, capsys, tmp_path / "logs")
    assert "1,500 runs (1 optimizer × 1,500 lrs × 1 seed)" in line


def test_the_few_seeds_warning_waits_for_valid_settings(capsys, tmp_path):
    # Two optimizers and one seed would warn; a bad value must still be the only line.
    line = refused(["--optimizers", "sgd", "adam", "--seeds", "0", "--max-loss", "-1"], capsys, tmp_path / "logs")
    assert "--max-loss" in line


def test_validation_errors_need_no_lightning():
    probe = ("import sys; from optlab.cli import main; main(['--seeds', '-1']); "
             "print('lightning' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "False"
