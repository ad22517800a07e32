"""Tune, then confirm: a search is ordinary runs (tuning trials, then confirmation runs on fresh seeds), survives a
kill -9, and its report answers at every budget."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import ROOT, SWEEP, run_script

from optlab.cli import main
from optlab.report.document import write_report
from optlab.report.selection import choose_lrs
from optlab.report.sweep_record import load_sweep_record
from optlab.report.tuning import budget_curves, trial_scores

# Tiny runs: 3 batches of 32 images, one epoch, evaluation on what there is.
QUICK = ["--dataset", "synthetic", "--synthetic-size", "240", "--batch-size", "32", "--max-epochs", "1",
         "--accelerator", "cpu", "--no-progress-bar", "--optimizers", "sgd", "adam", "--limit-train-batches", "3"]
SEARCH = ["--search", "random", "--trials", "4", "--confirm-seeds", "10", "11", "12"]


def args(log_dir: Path, name: str, *extra: str) -> list[str]:
    return [*QUICK, "--log-dir", str(log_dir), "--name", name, *extra]


def results(folder: Path) -> dict[str, dict]:
    return {path.stem: json.loads(path.read_text()) for path in (folder / "results").glob("*.json")}


def trials(folder: Path) -> dict[tuple[str, int], dict]:
    """(optimizer, trial) -> the sampled point of its tuning run, from the results alone."""
    return {(run["optimizer"], run["trial"]): run["search_point"] for run in results(folder).values()
            if run["stage"] == "tune"}


@pytest.fixture(scope="module")
def searched(tmp_path_factory) -> Path:
    log_dir = tmp_path_factory.mktemp("search")
    assert main(args(log_dir, "s", *SEARCH, "--no-report")) == 0
    return log_dir / "s"


def test_a_search_trains_every_trial_then_confirms_the_best_on_fresh_seeds(searched):
    runs = results(searched)
    tune = [run for run in runs.values() if run["stage"] == "tune"]
    confirm = [run for run in runs.values() if run["stage"] == "confirm"]
    assert len(tune) == 8 and len(confirm) == 6
    assert {(run["optimizer"], run["trial"]) for run in tune} == {(n, t) for n in ("sgd", "adam") for t in range(4)}
    assert {run["seed"] for run in tune} == {0} and {run["seed"] for run in confirm} == {10, 11, 12}
    for run in tune + confirm:  # every hyperparameter it got is in its result
        point = run["search_point"]
        assert point["lr"] == pytest.approx(run["lr"]) and set(point) > {"lr"}
        assert "weight_decay" in run["optimizer_kwargs"]
    adam = next(run for run in tune if run["optimizer"] == "adam")
    beta1 = 1 - adam["search_point"]["one_minus_beta1"]
    assert adam["optimizer_kwargs"]["betas"][0] == pytest.approx(beta1)


def test_the_confirmed_configuration_is_the_best_on_validation(searched):
    runs = results(searched).values()
    for name in ("sgd", "adam"):
        scores = {run["trial"]: run["final_val_acc"] for run in runs if run["optimizer"] == name
                  and run["stage"] == "tune"}
        best = max(sorted(scores), key=lambda trial: scores[trial])  # ties: the earlier trial
        confirmed = {run["trial"] for run in runs if run["optimizer"] == name and run["stage"] == "confirm"}
        assert confirmed == {best}


def test_the_same_command_again_trains_nothing(searched, capsys):
    before = {path.name: path.stat().st_mtime_ns for path in (searched / "results").glob("*.json")}
    assert main(args(searched.parent, "s", *SEARCH, "--no-report")) == 0
    lines = capsys.readouterr().out.splitlines()
    assert not [line for line in lines if line.startswith(("run ", "resume "))]
    assert sum(line.startswith("skip ") for line in lines) == 6  # the confirmations; every trial is told
    assert {path.name: path.stat().st_mtime_ns for path in (searched / "results").glob("*.json")} == before


def test_the_budget_curve_runs_from_the_mean_trial_to_the_best_trial(searched):
    record = load_sweep_record(searched)
    choices = choose_lrs(record.runs, record.optimizers)
    for curve in budget_curves(choices):
        scores = trial_scores(choices[curve.optimizer])
        assert curve.trials == 4
        assert curve.expected_best[0] == pytest.approx(sum(scores) / len(scores))
        assert curve.expected_best[-1] == pytest.approx(max(scores))


def test_the_report_judges_on_confirmation_runs_and_answers_at_every_budget(searched):
    report = write_report(searched).read_text()
    assert "**Verdicts rest on** the confirmation runs alone" in report
    assert "## The answer at every tuning budget" in report and "best of 4" in report
    assert (searched / "fig_budget.png").read_bytes()[:4] == b"\x89PNG"
    assert "## Which hyperparameters mattered" in report
    # a trial differs from another in every searched value, so its spread is not called lr sensitivity
    assert "Most sensitive to its hyperparameters across its trials" in report and "(trial " in report
    summary = report.split("## Summary")[1].split("##")[0]
    assert "(trial " in summary and "| 3 |" in summary  # the chosen trial, over the 3 confirmation seeds


def test_a_killed_search_resumes_to_the_same_trials_as_an_uninterrupted_one(tmp_path):
    """kill -9 mid-search, rerun: the study continues, a trial whose runs were cut short is trained again under
    its own number, and the search ends where an uninterrupted one does."""
    search = ["--search", "random", "--trials", "3", "--confirm-seeds", "5", "6", "7", "--no-report"]
    straight = run_script(*args(tmp_path, "straight", *search))
    assert straight.returncode == 0, straight.stderr
    command = [sys.executable, str(SWEEP), *args(tmp_path, "killed", *search)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    folder = tmp_path / "killed" / "results"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and len(list(folder.glob("*.json"))) < 3:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert 3 <= len(list(folder.glob("*.json"))) < 12  # killed mid-search
    rerun = run_script(*args(tmp_path, "killed", *search))
    assert rerun.returncode == 0, rerun.stderr
    assert trials(tmp_path / "killed") == trials(tmp_path / "straight")
    confirmed = {(run["optimizer"], run["trial"], run["seed"]) for run in results(tmp_path / "killed").values()
                 if run["stage"] == "confirm"}
    assert confirmed == {(run["optimizer"], run["trial"], run["seed"])
                         for run in results(tmp_path / "straight").values() if run["stage"] == "confirm"}


@pytest.mark.parametrize(("extra", "says"), [
    (["--search", "random", "--confirm-seeds", "5", "6"], "--confirm-seeds needs at least 3 seeds"),
    (["--search", "random", "--tune-seeds", "0", "1", "--confirm-seeds", "1", "2", "3"], "must be fresh"),
    (["--seeds", "0", "1", "2", "--confirm-seeds", "2", "3", "4"], "must be fresh"),
    (["--tune-seeds", "3"], "--tune-seeds is for --search"),
    (["--search", "random", "--search-space", "adam.lr=1e-2:1e-4"], "LOW < HIGH"),
    (["--search", "random", "--shard", "1/2"], "--shard slices a grid"),
    (["--search", "random", "--val-size", "0"], "tuning chooses on validation"),
    (["--search", "bayes"], "invalid choice"),
    (["--search", "random", "--storage", "postgresql://nobody:secret@127.0.0.1:1/none"], "--storage 127.0.0.1:1/none"),
])
def test_a_bad_search_setting_is_one_line_and_writes_nothing(tmp_path, extra, says):
    done = run_script(*args(tmp_path, "bad", *extra))
    assert done.returncode == 2
    assert says in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (tmp_path / "bad").exists()


@pytest.mark.skipif(not os.environ.get("OPTLAB_TEST_POSTGRES"), reason="needs OPTLAB_TEST_POSTGRES (a database URL)")
def test_two_workers_share_one_postgresql_study_and_train_each_trial_once(tmp_path):
    """Two sweep processes on one folder and one PostgreSQL study: every trial trains once, the budget is kept,
    and the confirmed configurations are those of one worker alone (the journal file) with the same sampler."""
    import uuid

    url = os.environ["OPTLAB_TEST_POSTGRES"]
    name = f"pg-{uuid.uuid4().hex[:8]}"  # a fresh study in a shared database
    search = ["--search", "qmc", "--trials", "3", "--confirm-seeds", "5", "6", "7", "--no-report"]
    workers = [subprocess.Popen([sys.executable, str(SWEEP), *args(tmp_path, name, *search, "--storage", url)],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
               for _ in range(2)]
    outputs = [worker.communicate(timeout=400)[0] for worker in workers]
    failed = [output[-3000:] for worker, output in zip(workers, outputs) if worker.returncode != 0]
    assert not failed, failed
    trained = [line.split()[1] for output in outputs for line in output.splitlines()
               if line.startswith(("run ", "resume "))]
    assert len(trained) == len(set(trained))  # no run trained by both workers
    assert all(any(line.startswith("run ") for line in output.splitlines()) for output in outputs)  # both worked
    alone = run_script(*args(tmp_path, "alone", *search))
    assert alone.returncode == 0, alone.stderr
    shared, single = trials(tmp_path / name), trials(tmp_path / "alone")
    assert len(shared) == 6 and shared == single

    def confirmed(folder):
        return {(r["optimizer"], r["trial"], r["seed"]) for r in results(folder).values() if r["stage"] == "confirm"}
    assert confirmed(tmp_path / name) == confirmed(tmp_path / "alone") and len(confirmed(tmp_path / "alone")) == 6


def test_the_hparams_tab_lists_every_trial_with_its_searched_values(searched):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import metadata

    events = EventAccumulator(str(searched))
    events.Reload()
    experiment = metadata.parse_experiment_plugin_data(events.PluginTagToContent("hparams")["_hparams_/experiment"])
    names = [info.name for info in experiment.hparam_infos]
    assert names[:5] == ["optimizer", "family", "stage", "trial", "seed"]
    assert {"lr", "weight_decay", "one_minus_beta1", "one_minus_beta2"} <= set(names)
    sessions = {}
    for folder in (searched / "adam").iterdir():
        run = EventAccumulator(str(folder))
        run.Reload()
        start = metadata.parse_session_start_info_plugin_data(
            run.PluginTagToContent("hparams")["_hparams_/session_start_info"])
        sessions[start.group_name] = start.hparams
    assert len(sessions) == 4 + 3  # every trial, and the best one's confirmation runs
    trial = sessions["adam_trial2_seed0"]
    recorded = results(searched)["adam_trial2_seed0"]["search_point"]
    assert trial["trial"].number_value == 2 and trial["stage"].string_value == "tune"
    assert trial["one_minus_beta2"].number_value == pytest.approx(recorded["one_minus_beta2"])


def test_a_grid_with_confirmation_seeds_reruns_each_best_lr_on_them(tmp_path):
    assert main(args(tmp_path, "grid", "--lrs", "1e-3", "1e-1", "--seeds", "0", "1", "--confirm-seeds", "5", "6", "7",
                     "--no-report")) == 0
    runs = results(tmp_path / "grid").values()
    for name in ("sgd", "adam"):
        grid = {lr: [r["final_val_acc"] for r in runs if r["optimizer"] == name and r["lr"] == lr
                     and r["stage"] == "grid"] for lr in (1e-3, 1e-1)}
        best = max(sorted(grid), key=lambda lr: sum(grid[lr]) / len(grid[lr]))  # ties: the smaller lr
        confirmed = [(r["lr"], r["seed"]) for r in runs if r["optimizer"] == name and r["stage"] == "confirm"]
        assert sorted(confirmed) == [(best, 5), (best, 6), (best, 7)]
