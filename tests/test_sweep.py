import json
import subprocess
import sys

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import metadata

from optlab.cli import main
from optlab.run.loss_monitor import divergence_index
from tests.helpers import ROOT, results, run_script, sweep_args


@pytest.fixture(scope="module")
def two_optimizer_sweep(tmp_path_factory):
    log_dir = tmp_path_factory.mktemp("logs")
    assert main(sweep_args(log_dir, "pair", "--optimizers", "sgd", "adam", "--lr", "1e-3")) == 0
    return log_dir


def test_sweep_writes_results_for_every_optimizer(two_optimizer_sweep):
    runs = results(two_optimizer_sweep, "pair")
    assert set(runs) == {"sgd_lr0.001_seed0", "adam_lr0.001_seed0"}
    for run in runs.values():
        assert run["epochs_run"] == 2 and len(run["epochs"]) == 2
        assert 0 <= run["test_acc"] <= 1 and run["images_per_second"] > 0
        assert run["effective_batch_size"] == 32 and run["world_size"] == 1
    assert runs["adam_lr0.001_seed0"]["optimizer_state_bytes"] > runs["sgd_lr0.001_seed0"]["optimizer_state_bytes"] == 0


def test_every_optimizer_starts_from_the_same_weights(two_optimizer_sweep):
    runs = results(two_optimizer_sweep, "pair")
    assert len({run["initial_weights"] for run in runs.values()}) == 1


def test_adam_loss_falls(two_optimizer_sweep):
    curve = results(two_optimizer_sweep, "pair")["adam_lr0.001_seed0"]["train_loss_curve"]
    assert curve[-1][1] < 0.8 * curve[0][1]


def test_tensorboard_has_overlayable_scalars_and_hparams_for_both(two_optimizer_sweep):
    for optimizer in ("sgd", "adam"):
        events = EventAccumulator(str(two_optimizer_sweep / "pair" / optimizer / "lr0.001_seed0"))
        events.Reload()
        scalars = set(events.Tags()["scalars"])
        assert {"train/loss", "train/acc", "val/loss", "val/acc", "test/acc", "test/loss", "train/lr",
                "test/generalization_gap"} <= scalars
        # Nothing sorts above train/, val/ and test/ on the Scalars page: no one-point epoch or hp/ charts.
        assert {tag.split("/")[0] for tag in scalars} == {"train", "val", "test"}
        plugin = events.PluginTagToContent("hparams")
        assert "_hparams_/session_start_info" in plugin and "_hparams_/experiment" not in plugin
        start = metadata.parse_session_start_info_plugin_data(plugin["_hparams_/session_start_info"])
        assert start.group_name == f"{optimizer}_lr0.001_seed0"  # the tab's trial id: the short run name
        assert start.hparams["optimizer"].string_value == optimizer


def test_tensorboard_hparams_experiment_shows_what_the_sweep_compares(two_optimizer_sweep):
    events = EventAccumulator(str(two_optimizer_sweep / "pair"))
    events.Reload()
    content = events.PluginTagToContent("hparams")["_hparams_/experiment"]
    experiment = metadata.parse_experiment_plugin_data(content)
    names = [info.name for info in experiment.hparam_infos]
    # TensorBoard shows the first five (those that differ first): the comparison, and no constant.
    assert {"optimizer", "lr", "seed", "family"} <= set(names) and len(names) <= 5
    assert not {"batch_size", "augment", "l2", "problem", "precision"} & set(names)
    differs = {info.name: info.differs for info in experiment.hparam_infos}
    assert differs["optimizer"] and differs["family"] and not differs["lr"]
    optimizers = set(experiment.hparam_infos[names.index("optimizer")].domain_discrete)
    assert optimizers == {"sgd", "adam"}
    assert {"test/acc", "val/acc"} <= {info.name.tag for info in experiment.metric_infos}


def test_tensorboard_train_loss_has_every_step_at_its_index(two_optimizer_sweep):
    run = results(two_optimizer_sweep, "pair")["adam_lr0.001_seed0"]
    folder = two_optimizer_sweep / "pair" / "adam" / "lr0.001_seed0"
    events = EventAccumulator(str(folder), size_guidance={"scalars": 0})
    events.Reload()
    logged = events.Scalars("train/loss")
    assert [event.step for event in logged] == list(range(run["steps"]))
    window_end, window_mean = run["train_loss_curve"][0]
    assert sum(event.value for event in logged[:window_end]) / window_end == pytest.approx(window_mean, rel=1e-5)


def test_rerun_skips_finished_runs_and_says_so(two_optimizer_sweep, capsys):
    assert main(sweep_args(two_optimizer_sweep, "pair", "--optimizers", "sgd", "adam", "--lr", "1e-3")) == 0
    assert "skip sgd_lr0.001_seed0: already finished" in capsys.readouterr().out


def test_diverging_run_is_recorded_and_the_others_finish(tmp_path):
    assert main(sweep_args(tmp_path, "boom", "--optimizers", "sgd", "--lr", "1e3", "1e-2")) == 0
    runs = results(tmp_path, "boom")
    bad, good = runs["sgd_lr1000_seed0"], runs["sgd_lr0.01_seed0"]
    assert bad["diverged"] and bad["status"] == "diverged" and bad["diverged_step"] >= 1
    assert bad["steps"] < good["steps"] and not good["diverged"]
    assert good["epochs_run"] == 2


def test_grid_selection_protocol_refuses_to_mix_settings(tmp_path, capsys):
    assert main(sweep_args(tmp_path, "mix", "--optimizers", "sgd", "--max-epochs", "1")) == 0
    capsys.readouterr()
    assert main(sweep_args(tmp_path, "mix", "--optimizers", "sgd", "--batch-size", "16", "--max-epochs", "1")) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "batch_size" in err and "--restart" in err


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--optimizers", "adamm"], "unknown optimizer 'adamm'"),
        (["--lr", "-1"], "learning rate must be a finite number > 0"),
        (["--batch-size", "0"], "--batch-size must be an integer >= 1"),
        (["--max-epochs", "0"], "--max-epochs must be an integer >= 1"),
        (["--val-size", "-5"], "--val-size must be an integer >= 0"),
        (["--val-size", "400"], "leaves no training images"),
        (["--optimizer-args", "betas=(0.9,0.99)", "--optimizers", "sgd"], "takes no argument 'betas'"),
        (["--devices", "64"], "--devices 64 on cpu starts 64 training processes"),
        (["--shard", "3/2"], "--shard K/N needs 1 <= K <= N"),
        (["--compile-mode", "reduce-overhead"], "--compile-mode needs --compile"),
    ],
)
def test_bad_input_gives_one_line_exit_2_and_writes_nothing(tmp_path, capsys, flags, message):
    assert main(sweep_args(tmp_path, "bad", *flags)) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err
    assert not (tmp_path / "bad").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_gpu_asked_for_on_a_machine_without_one_is_one_line(tmp_path, capsys):
    assert main(sweep_args(tmp_path, "nogpu", "--accelerator", "gpu")) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: cannot run with --accelerator gpu") and "\n" not in err
    assert not (tmp_path / "nogpu").exists()


def test_compile_mode_reaches_torch_compile(tmp_path, monkeypatch):
    modes = []

    def record(module, **options):  # stands in for the compiler: the wiring is under test, not inductor
        modes.append(options.get("mode"))
        return module

    monkeypatch.setattr(torch, "compile", record)
    args = sweep_args(tmp_path, "compiled", "--optimizers", "adam", "--max-epochs", "1", "--compile",
                      "--compile-mode", "reduce-overhead")
    assert main(args) == 0
    assert modes and set(modes) == {"reduce-overhead"}
    assert results(tmp_path, "compiled")["adam_lr0.001_seed0"]["epochs_run"] == 1


def test_bad_data_dir_writes_nothing(tmp_path, capsys):
    (tmp_path / "data" / "train").mkdir(parents=True)
    (tmp_path / "data" / "test").mkdir()
    args = sweep_args(tmp_path, "bad", "--dataset", "auto", "--data-dir", str(tmp_path / "data"))
    assert main(args) == 2
    assert "has no class subfolders" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


def test_unwritable_log_dir_is_one_line(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(sweep_args(blocker / "logs", "x")) == 2
    assert "cannot write to --log-dir" in capsys.readouterr().err


def test_script_errors_have_no_traceback(tmp_path):
    for flags in (["--optimizers", "adamm"], ["--lr", "-1"], ["--schedule", "linear"], ["--batch-size", "x"]):
        done = run_script(*sweep_args(tmp_path, "cli", *flags))
        assert done.returncode == 2
        assert "Traceback" not in done.stderr and done.stderr.strip().count("\n") == 0, done.stderr
    assert not (tmp_path / "cli").exists()


def test_a_flag_error_stops_before_lightning_is_imported(tmp_path):
    """The one-line answer to a typo comes before the seconds Lightning's import takes."""
    code = ("import sys; from optlab.cli import main; "
            f"code = main({sweep_args(tmp_path, 'cli', '--optimizers', 'adamm')!r}); "
            "print(code, 'lightning' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.stdout.split() == ["2", "False"], done.stdout + done.stderr
    assert "unknown optimizer 'adamm'" in done.stderr


def test_results_json_is_valid_after_sweep(two_optimizer_sweep):
    data = json.loads((two_optimizer_sweep / "pair" / "results.json").read_text())
    assert data["missing"] == [] and len(data["runs"]) == 2


def test_generalization_gap_uses_the_final_weights_on_training_images(two_optimizer_sweep):
    for run in results(two_optimizer_sweep, "pair").values():
        assert 0 <= run["final_train_acc"] <= 1
        assert run["generalization_gap"] == pytest.approx(run["final_train_acc"] - run["test_acc"])
        assert run["running_train_acc_last_epoch"] == run["epochs"][-1]["train_acc"]


@pytest.mark.parametrize(
    "losses, expected",
    [
        ([2.0, 5e3, 1.9, 1.8, 1.7], None),  # one spike, then recovery: unstable, not diverged
        ([2.0, 5e3, 6e3, 7e3, 1.7], 1),  # most of the window blown up
        ([2.0, 1.9, float("nan"), 1.8], 2),  # any non-finite loss
        ([2.0, 5e3, float("inf")], 1),  # the blow-up starts before the first inf
        ([2.0, 1.9], None),
    ],
)
def test_divergence_is_a_blow_up_not_a_lone_spike(losses, expected):
    assert divergence_index(losses, max_loss=1e3) == expected


def test_the_console_shows_the_device_banner_but_not_lightnings_configured_so_notes(tmp_path):
    """Lightning echoes val_check_interval=1.0 and the batch limits ("`Trainer(...)` was configured so ..."); the
    README says such notes are hidden."""
    done = run_script(*sweep_args(tmp_path, "notes", "--optimizers", "sgd", "--max-epochs", "1",
                                  "--limit-train-batches", "2", "--limit-eval-batches", "1"))
    assert done.returncode == 0, done.stderr
    console = done.stdout + done.stderr
    assert console.count("GPU available") == 1 and "done sgd_lr0.001_seed0" in console
    assert "was configured so" not in console and "`Trainer(" not in console, console
