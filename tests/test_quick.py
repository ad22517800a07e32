"""Quick looks: --limit-eval-batches and the --quick preset, kept apart from full sweeps by the protocol."""

import json

from optlab.cli import build_parser, config_from_args, main
from optlab.run.loss_monitor import LossMonitor
from optlab.run.trainer import build_trainer
from optlab.sweep.config import RunSpec
from optlab.sweep.run_settings import settings_for
from tests.helpers import TINY, run_results, whole_result

QUICK_TINY = [flag for flag in TINY if flag not in ("--max-epochs", "2")]  # --quick sets the epochs


def parsed(*flags: str):
    return config_from_args(build_parser().parse_args(list(flags)))


def test_quick_presets_train_and_eval_limits_and_one_epoch_and_explicit_flags_win():
    config = parsed("--quick")
    assert (config.limit_train_batches, config.limit_eval_batches, config.max_epochs) == (50, 2, 1)
    config = parsed("--quick", "--max-epochs", "3", "--limit-eval-batches", "4")
    assert (config.limit_train_batches, config.limit_eval_batches, config.max_epochs) == (50, 4, 3)
    assert parsed().limit_eval_batches is None  # a full evaluation unless asked


def test_eval_limit_reaches_validation_and_test(tmp_path):
    config = parsed("--limit-eval-batches", "3", "--accelerator", "cpu", "--log-dir", str(tmp_path))
    spec = RunSpec("sgd", 1e-3, 0)
    trainer = build_trainer(settings_for(config, spec), spec, LossMonitor(), has_val=True)
    assert trainer.limit_val_batches == 3 and trainer.limit_test_batches == 3


def test_a_quick_sweep_records_its_limits_and_a_full_one_cannot_join_its_folder(tmp_path, capsys):
    args = [*QUICK_TINY, "--log-dir", str(tmp_path), "--name", "look", "--optimizers", "sgd"]
    assert main([*args, "--quick"]) == 0
    protocol = json.loads((tmp_path / "look" / "sweep.json").read_text())["protocol"]
    assert protocol["limit_eval_batches"] == 2 and protocol["limit_train_batches"] == 50
    assert protocol["max_epochs"] == 1
    capsys.readouterr()
    assert main([*args, "--max-epochs", "1", "--limit-train-batches", "50"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "limit_eval_batches" in err


def test_a_misspelled_optimizer_gets_a_suggestion_and_help_states_true_defaults(capsys):
    assert main(["--optimizers", "adamm"]) == 2  # refused before anything runs
    assert "unknown optimizer 'adamm' (did you mean 'adam'?); choose from:" in capsys.readouterr().err
    text = build_parser().format_help()
    assert "(default: True)" not in text and "(default: False)" not in text.split("--no-report")[1][:200]


def test_the_final_table_ranks_runs_by_final_val_accuracy():
    from optlab.report.table import results_table

    runs = [whole_result({"run_id": f"{name}_lr0.001_seed0", "optimizer": name, "lr": 1e-3, "seed": 0,
                          "final_val_acc": val, "test_acc": 0.5, "best_val_acc": val, "epochs_run": 1,
                          "train_seconds": 1.0, "diverged": False}) for name, val in
            (("adam", 0.4), ("sgd", 0.9), ("lion", 0.6))]
    rows = results_table(run_results(runs)).splitlines()[2:]
    assert [row.split()[0] for row in rows] == ["sgd", "lion", "adam"]
