"""report.md, figures and claims: made from the recorded results alone, with the test set never choosing anything."""

import importlib.util
import itertools
import json
import math
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from matplotlib.image import imread
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from optlab.cli import main
from optlab.report.claims import CONTRADICTED, INCONCLUSIVE, SUPPORTED
from optlab.report.document import write_report
from optlab.report.health import loss_rise
from optlab.report.plots import FIGURES
from optlab.report.selection import choose_lrs
from optlab.report.sweep_record import load_sweep_record
from optlab.report.verdicts import judge_claims, report_verdicts
from tests.helpers import ROOT, run_result, run_results, sweep_args, whole_result

REPORT_SCRIPT = ROOT / "scripts" / "report.py"
SMALL = ("--synthetic-size", "200")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


@pytest.fixture(scope="module")
def grid(tmp_path_factory) -> Path:
    """2 optimizers × 2 lrs × 2 seeds, trained for real on tiny synthetic data, with its report."""
    log_dir = tmp_path_factory.mktemp("report")
    args = sweep_args(log_dir, "grid", *SMALL, "--optimizers", "sgd", "adam", "--lr", "1e-2", "1e-3",
                      "--seeds", "0", "1")
    assert main(args) == 0
    write_report(log_dir / "grid")
    return log_dir / "grid"


def recorded_runs(sweep: Path) -> list[dict]:
    return json.loads((sweep / "results.json").read_text())["runs"]


def table(markdown: str, section: str) -> list[dict[str, str]]:
    """The first markdown table under a '## section' heading, as one dict per row."""
    lines = markdown.split(f"## {section}\n", 1)[1].splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith("|"))
    rows = list(itertools.takewhile(lambda line: line.startswith("|"), lines[start:]))
    cells = [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows]
    return [dict(zip(cells[0], row)) for row in cells[2:]]


def numbers(text: str) -> list[float]:
    return [float(match) for match in NUMBER.findall(text)]


def assert_mean_std(text: str, values: list[float], scale: float = 100.0, digits: int = 1) -> None:
    """'61.2 ± 0.8%' must be the mean and sample std of values, to the printed precision (one value: no std)."""
    shown = numbers(text)
    tolerance = 0.51 * 10 ** -digits
    assert shown[0] == pytest.approx(scale * statistics.fmean(values), abs=tolerance), text
    if len(values) == 1:
        assert len(shown) == 1, text
    else:
        assert shown[1] == pytest.approx(scale * statistics.stdev(values), abs=tolerance), text


def test_grid_records_eight_runs_and_no_missing(grid):
    data = json.loads((grid / "results.json").read_text())
    assert len(data["runs"]) == 8 and data["missing"] == []
    assert "8 of 8 planned runs have results" in (grid / "report.md").read_text()


def test_summary_table_equals_the_recorded_results(grid):
    runs = recorded_runs(grid)
    max_epochs = json.loads((grid / "sweep.json").read_text())["protocol"]["max_epochs"]
    summary = {row["optimizer"]: row for row in table((grid / "report.md").read_text(), "Summary")}
    assert set(summary) == {"sgd", "adam"}
    for optimizer, row in summary.items():
        # Two lrs on seeds 0 and 1: seed 0 chooses the lr, seed 1 (which chose nothing) is reported.
        by_lr = {lr: [r for r in runs if r["optimizer"] == optimizer and r["lr"] == lr] for lr in (1e-2, 1e-3)}
        mean_val = {lr: statistics.fmean(r["final_val_acc"] for r in cell if r["seed"] == 0)
                    for lr, cell in by_lr.items()}
        chosen = max(sorted(mean_val), key=lambda lr: mean_val[lr])  # ties: the smaller lr
        cell = [r for r in by_lr[chosen] if r["seed"] == 1]
        assert float(row["chosen lr"]) == chosen and row["seeds"] == "1"
        assert_mean_std(row["val acc"], [r["final_val_acc"] for r in cell])
        assert_mean_std(row["test acc"], [r["test_acc"] for r in cell])
        assert_mean_std(row["gen. gap"], [r["generalization_gap"] for r in cell])
        assert_mean_std(row["images/s"], [r["images_per_second"] for r in cell], scale=1, digits=0)
        budget = [r["time_to_target_interpolated"]["step"] if r["time_to_target"]
                  else max_epochs * r["epochs"][0]["step"] for r in cell]
        assert_mean_std(row["steps to target"], budget, scale=1, digits=0)
        assert row["reached target"] == f"{sum(bool(r['time_to_target']) for r in cell)}/1"
        state = statistics.fmean(r["optimizer_state_bytes"] for r in cell) / 2**20
        assert numbers(row["optimizer state"])[0] == pytest.approx(state, abs=0.006)
        assert row["diverged"] == "0/1"


def test_figures_are_valid_pngs_linked_from_the_report(grid):
    report = (grid / "report.md").read_text()
    for name in FIGURES.values():
        path = grid / name
        assert path.read_bytes()[:8] == PNG_SIGNATURE
        height, width = imread(path).shape[:2]
        assert width > 300 and height > 200
        assert f"]({name})" in report
    assert not list(grid.glob(".*.tmp"))


def test_every_run_has_an_hparams_entry_with_its_test_accuracy(grid):
    runs = recorded_runs(grid)
    assert len(runs) == 8
    for run in runs:
        events = EventAccumulator(str(grid / run["optimizer"] / f"lr{run['lr']:g}_seed{run['seed']}"))
        events.Reload()
        assert "_hparams_/session_start_info" in events.PluginTagToContent("hparams")
        assert events.Scalars("test/acc")[-1].value == pytest.approx(run["test_acc"], abs=1e-6)


def test_report_is_remade_identically_from_files_alone(grid):
    before = (grid / "report.md").read_text()
    write_report(grid)
    assert (grid / "report.md").read_text() == before


def test_report_names_the_runs_a_merged_folder_still_lacks(grid, tmp_path):
    merged = tmp_path / "merged"
    merged.mkdir()
    shutil.copy(grid / "sweep.json", merged)
    shutil.copytree(grid / "results", merged / "results")
    (merged / "results" / "adam_lr0.01_seed1.json").unlink()
    report = write_report(merged).read_text()
    assert "7 of 8 planned runs have results" in report and "**Missing**" in report
    assert "adam_lr0.01_seed1" in report.split("**Missing**")[1].splitlines()[0]


def test_report_script_on_an_unfinished_folder_names_the_planned_runs_without_a_result(grid, tmp_path, capsys):
    merged = tmp_path / "unfinished"
    merged.mkdir()
    shutil.copy(grid / "sweep.json", merged)
    shutil.copytree(grid / "results", merged / "results")
    for run in ("sgd_lr0.001_seed1", "adam_lr0.01_seed1"):
        (merged / "results" / f"{run}.json").unlink()
    assert load_report_script().main([str(merged)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"report: {merged / 'report.md'}" and len(lines) == 2
    assert lines[1].startswith("unfinished: 2 of 8 planned runs have no result yet: ")
    named = lines[1].split("no result yet: ")[1].split(";")[0]
    assert sorted(named.split(", ")) == ["adam_lr0.01_seed1", "sgd_lr0.001_seed1"]


def test_report_script_on_a_finished_folder_prints_only_the_report(grid, capsys):
    assert load_report_script().main([str(grid)]) == 0
    assert capsys.readouterr().out == f"report: {grid / 'report.md'}\n"


def test_the_validation_size_used_is_in_each_runs_hparams_and_the_reports_setup(image_dir, tmp_path):
    """An image folder's size is known only once it is read: 60 train images hold out the default tenth, 6."""
    args = sweep_args(tmp_path, "folder", "--dataset", "imagefolder", "--data-dir", str(image_dir),
                      "--optimizers", "sgd", "adam", "--max-epochs", "1")
    assert main(args) == 0
    for optimizer in ("sgd", "adam"):
        hparams = yaml.safe_load((tmp_path / "folder" / optimizer / "lr0.001_seed0" / "hparams.yaml").read_text())
        assert hparams["val_size"] == 6
    report = write_report(tmp_path / "folder").read_text()
    assert "validation split: 6 train images held out (the default);" in report
    merged = tmp_path / "merged"  # results/ alone (copied from shards): no hparams.yaml says the number
    merged.mkdir()
    shutil.copy(tmp_path / "folder" / "sweep.json", merged)
    shutil.copytree(tmp_path / "folder" / "results", merged / "results")
    assert "validation split: the default hold-out" in write_report(merged).read_text()


def test_the_validation_size_is_read_from_a_search_trials_folder_too(tmp_path):
    from optlab.report.document import recorded_val_size

    run = {**fake_run("sgd", 0.0123, 0, val=0.6, test=0.6), "trial": 2}
    folder = write_sweep(tmp_path / "searched", [run])
    (folder / "sgd" / "trial2_seed0").mkdir(parents=True)
    (folder / "sgd" / "trial2_seed0" / "hparams.yaml").write_text("optimizer: sgd\nval_size: 17\n")
    assert recorded_val_size(load_sweep_record(folder)) == 17
    assert "validation split: 17 train images held out (the default)" in write_report(folder).read_text()


# Hand-made results: exact numbers, so each rule can be checked against what it must conclude.

def fake_run(optimizer: str, lr: float, seed: int, val: float, test: float, *, reach_step: int | None = None,
             state: int = 0, images_per_second: float = 1000.0, validated: bool = True) -> dict:
    steps_per_epoch, epochs = 10, 3
    records = [{"epoch": e, "step": e * steps_per_epoch, "train_seconds": e * 1.0, "train_loss": 2.0 / e, "lr": lr,
                "train_acc": val} for e in range(1, epochs + 1)]
    if validated:
        for record in records:
            record.update(val_loss=1.0, val_acc=val * record["epoch"] / epochs)
    reached = {"epoch": reach_step // steps_per_epoch, "step": reach_step, "seconds": reach_step / 10} \
        if reach_step else None
    return whole_result({
        "run_id": f"{optimizer}_lr{lr:g}_seed{seed}", "optimizer": optimizer, "lr": lr, "seed": seed,
        "status": "finished", "diverged": False, "diverged_step": None, "batch_size": 32, "world_size": 1,
        "effective_batch_size": 32, "precision": "32-true", "accelerator": "cpu", "resumed": False,
        "test_acc": test, "test_loss": 1.0, "train_seconds": 3.0, "train_images": 960,
        "optimizer_state_bytes": state, "peak_memory_bytes": 2**30, "peak_memory_kind": "process_rss",
        "epochs": records, "epochs_run": epochs, "steps": epochs * steps_per_epoch,
        "final_val_acc": val if validated else None, "best_val_acc": val if validated else None,
        "best_val_epoch": epochs if validated else None, "final_train_acc": val, "final_train_loss": 2.0 / epochs,
        "time_to_target": reached, "loss_std_last_epoch": 0.1, "loss_spikes": 0,
        "train_loss_curve": [[s, 2.0 / (1 + s / 10)] for s in range(1, epochs * steps_per_epoch + 1)],
        "images_per_second": images_per_second, "seconds_per_epoch": 1.0, "generalization_gap": val - test,
    })


def write_sweep(folder: Path, runs: list[dict]) -> Path:
    optimizers = list(dict.fromkeys(run["optimizer"] for run in runs))
    config = {"optimizers": optimizers, "lrs": sorted({r["lr"] for r in runs}),
              "seeds": sorted({r["seed"] for r in runs}), "max_epochs": 3, "target_acc": 0.6, "name": folder.name}
    protocol = {"max_epochs": 3, "target_acc": 0.6, "batch_size": 32, "dataset_source": "synthetic",
                "precision": "32-true", "schedule": "none", "optimizer_kwargs": {}, "augment": False}
    (folder / "results").mkdir(parents=True)
    (folder / "sweep.json").write_text(json.dumps({"protocol": protocol, "config": config}))
    for run in runs:
        (folder / "results" / f"{run['run_id']}.json").write_text(json.dumps(run))
    return folder


def claims_of(folder: Path) -> dict:
    record = load_sweep_record(folder)
    return {claim.key: claim for claim in judge_claims(record, choose_lrs(record.runs, record.optimizers))}


def test_lr_is_chosen_on_validation_even_when_test_disagrees(tmp_path):
    runs = [fake_run("adam", 1e-3, s, val=0.80, test=0.50) for s in (0, 1)]
    runs += [fake_run("adam", 1e-2, s, val=0.60, test=0.90) for s in (0, 1)]
    assert choose_lrs(run_results(runs))["adam"].chosen.lr == 1e-3
    report = write_report(write_sweep(tmp_path / "disagree", runs)).read_text()
    row = table(report, "Summary")[0]
    assert row["chosen lr"] == "0.001" and row["test acc"].startswith("50.0")  # on seed 1, chosen on seed 0


def test_test_metrics_never_change_the_chosen_lrs(grid):
    runs = recorded_runs(grid)
    chosen = {name: choice.chosen.lr for name, choice in choose_lrs(run_results(runs)).items()}
    inverted = [{**run, "test_acc": 1 - run["final_val_acc"], "test_loss": -run["test_loss"]} for run in runs]
    without = [{key: value for key, value in run.items() if not key.startswith("test_")} for run in runs]
    for changed in (inverted, without):
        assert {name: choice.chosen.lr for name, choice in choose_lrs(run_results(changed)).items()} == chosen


def test_without_validation_no_lr_is_chosen_and_every_lr_is_reported(tmp_path):
    runs = [fake_run("sgd", lr, s, val=0.5, test=t, validated=False) for lr, t in ((1e-2, 0.7), (1e-1, 0.4))
            for s in (0, 1)]
    report = write_report(write_sweep(tmp_path / "noval", runs)).read_text()
    assert table(report, "Summary")[0]["chosen lr"] == "none (no validation split: no selection)"
    assert {row["lr"] for row in table(report, "Every optimizer × lr")} == {"0.01", "0.1"}
    assert claims_of(tmp_path / "noval")["a"].verdict == INCONCLUSIVE
    assert all(path.stat().st_size > 0 for path in (tmp_path / "noval").glob("fig_*.png"))


def test_claims_supported_when_the_numbers_clearly_agree(tmp_path):
    runs = []
    for seed in range(6):  # three lrs each: seeds 0-2 choose, 3-5 judge
        # every chosen lr (1e-2) inside its grid, so each claim is a tuned comparison
        runs += [fake_run("sgd", lr, seed, val=v, test=0.70) for lr, v in ((1e-3, 0.40), (1e-2, 0.80), (1e-1, 0.30))]
        runs += [fake_run("adam", lr, seed, val=v, test=0.60, reach_step=10, state=200, images_per_second=800)
                 for lr, v in ((1e-3, 0.77), (1e-2, 0.80), (1e-1, 0.78))]
        runs += [fake_run("rmsprop", lr, seed, val=v, test=0.60, reach_step=10, state=100, images_per_second=850)
                 for lr, v in ((1e-3, 0.76), (1e-2, 0.79), (1e-1, 0.77))]
    runs = [{**run, "images_per_second": run["images_per_second"] + run["seed"]} for run in runs]  # a little spread
    claims = claims_of(write_sweep(tmp_path / "agree", runs))
    # sgd never reaches the target: censored in every seed, and at 3 seeds the exact test cannot go below p 0.25
    assert claims["a"].verdict == INCONCLUSIVE and "sign-flip" in claims["a"].findings[0].text, claims["a"]
    assert claims["c"].verdict == SUPPORTED, claims["c"]
    assert claims["d1"].verdict == SUPPORTED and claims["d2"].verdict == SUPPORTED
    assert claims["e"].verdict == SUPPORTED
    assert claims["b"].verdict == INCONCLUSIVE and "momentum is not in this sweep" in claims["b"].missing


def test_a_planned_optimizer_without_finished_runs_is_called_unfinished_not_absent(tmp_path):
    runs = [fake_run(name, 1e-2, seed, val=0.7, test=0.6) for name in ("sgd", "momentum") for seed in (0, 1, 2)]
    folder = write_sweep(tmp_path / "partial", runs)
    manifest = json.loads((folder / "sweep.json").read_text())
    manifest["config"]["optimizers"] = ["sgd", "adam", "momentum"]  # adam planned, none of its runs finished
    (folder / "sweep.json").write_text(json.dumps(manifest))
    claims = claims_of(folder)
    assert "adam is unfinished (planned, no finished run yet)" in claims["a"].missing
    assert "rmsprop is not in this sweep" in claims["a"].missing  # never planned: still absent
    report = write_report(folder).read_text()
    assert "adam is not in this sweep" not in report and "adam is unfinished" in report
    assert "adam_lr0.01_seed0" in report.split("**Missing**")[1].splitlines()[0]


SINGULAR_AS_PLURAL = re.compile(r"(?<![\d.,/])1 (epochs|seeds|batches|runs|lrs|optimizers|steps|images|pairs)\b")


def test_counts_of_one_read_in_the_singular_in_the_report_and_its_figures(tmp_path):
    from optlab.report import plots
    from optlab.report.reference import load_reference, reference_figure, sweep_sides

    runs = [fake_run(name, 1e-2, 0, val=0.7, test=test) for name, test in (("sgd", 0.5), ("adam", 0.6))]
    folder = write_sweep(tmp_path / "one", runs)
    manifest = json.loads((folder / "sweep.json").read_text())
    manifest["protocol"].update(max_epochs=1, limit_eval_batches=1, warmup_epochs=1, synthetic_size=2000)
    (folder / "sweep.json").write_text(json.dumps(manifest))
    report = write_report(folder).read_text()
    assert not SINGULAR_AS_PLURAL.findall(report), SINGULAR_AS_PLURAL.findall(report)
    assert "- **Training**: 1 epoch," in report and "accuracy on 1 batch each" in report
    assert "2,000 train images; validation split: 200 train images held out (the default tenth)" in report
    record = load_sweep_record(folder)
    choices = choose_lrs(record.runs, record.optimizers)
    styles = plots.choice_styles(choices)
    rows = report_verdicts(record, choices).rows
    figures = [build(record, choices, styles) for build in (plots.train_loss_figure, plots.val_acc_figure,
                                                               plots.lr_sensitivity_figure, plots.curves_figure)]
    figures.append(plots.pairwise_figure(record, choices, styles, rows))
    reference = load_reference("deepobs_3c3d")
    figures.append(reference_figure(sweep_sides([record], reference), reference))
    texts = [artist.get_text() for figure in figures for artist in figure.findobj(lambda a: hasattr(a, "get_text"))]
    assert any("mean over 1 seed;" in text for text in texts) and "first 1 epoch" in texts
    assert not [text for text in texts if SINGULAR_AS_PLURAL.search(text)]


def test_speed_is_compared_only_between_runs_made_with_the_same_kernels(tmp_path):
    runs = []
    for seed in (0, 1, 2):
        runs.append(fake_run("sgd", 1e-2, seed, val=0.8, test=0.7, images_per_second=1000 + seed))
        runs.append(fake_run("adam", 1e-2, seed, val=0.8, test=0.6, images_per_second=800 + seed))
    older = claims_of(write_sweep(tmp_path / "older", runs))["d2"]  # results without the kernel fields
    assert older.verdict == SUPPORTED
    # The same numbers, but sgd ran with deterministic kernels (slower by themselves): no fair pair is left.
    mixed = [{**run, "deterministic": run["optimizer"] == "sgd", "cuda_graphs": False} for run in runs]
    claim = claims_of(write_sweep(tmp_path / "mixed", mixed))["d2"]
    assert claim.verdict == INCONCLUSIVE
    assert "3 pair(s) left out: different device, concurrency or kernels" in claim.findings[0].text


def test_claims_contradicted_when_the_numbers_clearly_disagree(tmp_path):
    runs = []
    for seed in range(6):  # three lrs each: seeds 0-2 choose, 3-5 judge
        runs.append(fake_run("sgd", 1e-2, seed, val=0.70 + seed / 100, test=0.50, reach_step=10))
        runs.append(fake_run("momentum", 1e-2, seed, val=0.70 + seed / 100, test=0.50))
        runs.append(fake_run("adam", 1e-3, seed, val=0.80 + seed / 100, test=0.80 + seed / 100))
        # worse lrs on either side: the chosen ones are inside their grids, so the claims are decided
        runs += [fake_run(name, lr * factor, seed, val=0.2, test=0.2) for name, lr in
                 (("sgd", 1e-2), ("momentum", 1e-2), ("adam", 1e-3)) for factor in (0.1, 10)]
    claims = claims_of(write_sweep(tmp_path / "disagree", runs))
    # adam never reaches the target, sgd does at step 10: censored, so no verdict at 3 seeds (smallest p 0.25)
    assert claims["a"].verdict == INCONCLUSIVE and "cannot go below 0.25" in claims["a"].findings[0].text
    assert claims["b"].verdict == INCONCLUSIVE  # momentum never reaches it either
    assert claims["e"].verdict == CONTRADICTED  # sgd family 50% test vs adam 80%


def test_claims_inconclusive_when_the_seed_spread_exceeds_the_difference(tmp_path):
    runs = []
    for seed, (adam_step, sgd_step, adam_test) in enumerate(((10, 20, 0.50), (30, 20, 0.90), (10, 30, 0.70))):
        runs.append(fake_run("sgd", 1e-2, seed, val=0.7, test=0.68, reach_step=sgd_step))
        runs.append(fake_run("adam", 1e-3, seed, val=0.7, test=adam_test, reach_step=adam_step))
        runs.append(fake_run("rmsprop", 1e-3, seed, val=0.7, test=adam_test, reach_step=adam_step))
    claims = claims_of(write_sweep(tmp_path / "noisy", runs))
    # adam saves 10, -10 and 20 steps over sgd: a 6.7-step mean lead whose interval includes 0.
    assert claims["a"].verdict == INCONCLUSIVE and "the interval includes 0" in claims["a"].findings[0].text
    assert claims["e"].verdict == INCONCLUSIVE


@pytest.mark.parametrize("seeds", [1, 2])
def test_fewer_than_three_seeds_are_never_enough_for_a_verdict(tmp_path, seeds):
    runs = []
    for seed in range(seeds):
        runs += [fake_run("sgd", 1e-2, seed, val=0.7, test=0.5), fake_run("momentum", 1e-2, seed, val=0.7, test=0.5),
                 fake_run("adam", 1e-3, seed, val=0.7, test=0.9, reach_step=10),
                 fake_run("rmsprop", 1e-3, seed, val=0.7, test=0.9, reach_step=10)]
    claims = claims_of(write_sweep(tmp_path / "few", runs))
    for key in ("a", "b", "e"):
        assert claims[key].verdict == INCONCLUSIVE
    assert "needs at least 3 seeds" in claims["a"].findings[0].text


def test_a_tie_in_every_seed_is_no_evidence(tmp_path):
    runs = []
    for seed in (0, 1, 2):
        runs += [fake_run("sgd", 1e-2, seed, val=0.7, test=0.6 + seed / 100, reach_step=20),
                 fake_run("adam", 1e-3, seed, val=0.7, test=0.6 + seed / 100, reach_step=20),
                 fake_run("rmsprop", 1e-3, seed, val=0.7, test=0.6 + seed / 100, reach_step=20)]
    claims = claims_of(write_sweep(tmp_path / "tie", runs))
    assert claims["a"].verdict == INCONCLUSIVE and "tied in every seed" in claims["a"].findings[0].text
    assert claims["e"].verdict == INCONCLUSIVE


def test_a_one_check_lead_in_every_seed_is_not_certainty(tmp_path):
    """Time to target is known only to the validation interval: 3 seeds one check apart are not a verdict."""
    runs = []
    for seed in (0, 1, 2):
        runs += [fake_run("sgd", 1e-2, seed, val=0.7, test=0.6, reach_step=20),
                 fake_run("adam", 1e-3, seed, val=0.7, test=0.6, reach_step=10),
                 fake_run("rmsprop", 1e-3, seed, val=0.7, test=0.6, reach_step=10)]
    claim = claims_of(write_sweep(tmp_path / "coarse", runs))["a"]
    assert claim.verdict == INCONCLUSIVE and "coarse: checked every 10 steps" in claim.findings[0].text


def load_report_script():
    spec = importlib.util.spec_from_file_location("report_script", REPORT_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def absent_folder(root: Path) -> Path:
    return root / "absent"


def folder_without_manifest(root: Path) -> Path:
    return root


def folder_without_results(root: Path) -> Path:
    (root / "sweep.json").write_text(json.dumps({"protocol": {}, "config": {}}))
    return root


@pytest.mark.parametrize("make, message", [
    (absent_folder, "is not a folder"),
    (folder_without_manifest, "has no sweep.json"),
    (folder_without_results, "no finished runs"),
])
def test_bad_folder_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, make, message):
    folder = make(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    assert load_report_script().main([str(folder)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err
    assert sorted(tmp_path.rglob("*")) == before


def test_a_result_whose_fields_are_not_a_results_is_left_out_as_unreadable(tmp_path):
    runs = [fake_run("sgd", 1e-2, seed, val=0.6, test=0.6) for seed in (0, 1)]
    runs[1]["test_acc"] = "0.6"  # whole by the sweep's rule (every required key), but not a number
    record = load_sweep_record(write_sweep(tmp_path / "typed", runs))
    assert [run.run_id for run in record.runs] == ["sgd_lr0.01_seed0"]
    assert record.unreadable == ["sgd_lr0.01_seed1.json"] and record.missing == ["sgd_lr0.01_seed1"]


def test_report_script_on_a_bad_folder_has_no_traceback(tmp_path):
    done = subprocess.run([sys.executable, str(REPORT_SCRIPT), str(tmp_path)], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("error: ") and done.stderr.strip().count("\n") == 0, done.stderr
    assert list(tmp_path.iterdir()) == []


def test_diverged_run_renders_and_is_shown_as_diverged(tmp_path):
    args = sweep_args(tmp_path, "boom", *SMALL, "--optimizers", "sgd", "--lr", "1e3", "1e-2", "--max-epochs", "1")
    assert main(args) == 0
    report = write_report(tmp_path / "boom").read_text()
    rows = {row["lr"]: row for row in table(report, "Every optimizer × lr")}
    assert rows["1000"]["diverged"] == "1/1" and rows["0.01"]["diverged"] == "0/1"
    assert "Diverged: sgd at lr 1000" in report
    run = {row["run"]: row for row in table(report, "Every run")}["sgd_lr1000_seed0"]
    assert run["status"].startswith("diverged at step")
    for name in FIGURES.values():
        assert (tmp_path / "boom" / name).read_bytes()[:8] == PNG_SIGNATURE


def test_pairwise_table_shows_every_pair_with_its_paired_difference(tmp_path):
    tests = {"sgd": (0.50, 0.52, 0.55), "momentum": (0.60, 0.61, 0.66), "adam": (0.61, 0.60, 0.66)}
    runs = [fake_run(name, 1e-2, seed, val=0.7, test=acc[seed]) for name, acc in tests.items() for seed in (0, 1, 2)]
    report = write_report(write_sweep(tmp_path / "pairs", runs)).read_text()
    rows = {(row["A"].split()[0], row["B"].split()[0]): row for row in table(report, "Pairwise comparison")}
    assert set(rows) == {("sgd", "momentum"), ("sgd", "adam"), ("momentum", "adam")}
    for (a, b), row in rows.items():
        differences = [x - y for x, y in zip(tests[a], tests[b])]
        assert numbers(row["Δ test acc, A − B (paired by seed)"])[0] == pytest.approx(
            100 * statistics.fmean(differences), abs=0.051)
        assert row["A ahead in"] == f"{sum(d > 0 for d in differences)}/3 seeds"
    # each ran one lr, so every verdict names both sides as not tuned
    assert rows["sgd", "momentum"]["verdict"] == "momentum ahead (lr at its grid's edge: sgd, momentum)"  # -10, -9, -11
    assert rows["momentum", "adam"]["verdict"] == "not a clear difference (lr at its grid's edge: momentum, adam)"
    assert (tmp_path / "pairs" / "fig_pairwise.png").read_bytes()[:8] == PNG_SIGNATURE


def test_one_seed_pairwise_is_one_line_and_figures_hold_nineteen_optimizers(tmp_path):
    names = [f"opt{index:02d}" for index in range(19)]
    runs = [fake_run(name, 1e-2, 0, val=0.5 + index / 100, test=0.5 + index / 100) for index, name in
            enumerate(names)]
    runs[3]["train_loss_curve"] = [[s, 2.0 * 3 ** s] for s in range(1, 31)]  # a blow-up, off the loss axis
    report = write_report(write_sweep(tmp_path / "wide", runs)).read_text()
    section = report.split("## Pairwise comparison\n", 1)[1].split("\n## ", 1)[0]
    assert "|" not in section  # no table of 171 rows that all say the same
    assert "171 of 171 pairs inconclusive: each needs at least 3 paired seeds (this sweep has 1)." in section
    for key, name in FIGURES.items():
        if key == "lr_sensitivity":  # one lr each: nothing to show
            assert not (tmp_path / "wide" / name).exists() and name not in report
        else:
            assert (tmp_path / "wide" / name).read_bytes()[:8] == PNG_SIGNATURE and f"]({name})" in report


def test_the_lr_sensitivity_figure_is_drawn_only_where_an_optimizer_ran_two_lrs(tmp_path):
    one = [fake_run(name, 1e-2, 0, val=0.6, test=0.6) for name in ("sgd", "adam")]
    folder = write_sweep(tmp_path / "one_lr", one)
    (folder / FIGURES["lr_sensitivity"]).write_bytes(PNG_SIGNATURE)  # left by a report of an earlier grid
    report = write_report(folder).read_text()
    assert not (folder / FIGURES["lr_sensitivity"]).exists() and "Learning-rate sensitivity" not in report
    two = [*one, fake_run("adam", 1e-3, 0, val=0.7, test=0.7)]
    report = write_report(write_sweep(tmp_path / "two_lrs", two)).read_text()
    assert f"]({FIGURES['lr_sensitivity']})" in report
    assert (tmp_path / "two_lrs" / FIGURES["lr_sensitivity"]).read_bytes()[:8] == PNG_SIGNATURE


def test_the_curves_figure_marks_where_a_diverged_run_blew_up(tmp_path):
    from optlab.report import plots

    calm = fake_run("adam", 1e-2, 0, val=0.6, test=0.6)
    blown = fake_run("sgd", 1e-2, 0, val=0.6, test=0.1)
    blown.update(status="diverged", diverged=True, diverged_step=15)  # halfway through epoch 2 of 10 steps each
    for record in blown["epochs"][1:]:
        record.update(train_loss=None, val_loss=None)
    record = load_sweep_record(write_sweep(tmp_path / "blown", [calm, blown]))
    choices = choose_lrs(record.runs, record.optimizers)
    styles = plots.choice_styles(choices)
    figure = plots.curves_figure(record, choices, styles)
    train_loss = next(ax for ax in figure.axes if ax.get_ylabel().startswith("training loss"))
    crosses = [line for line in train_loss.get_lines() if line.get_marker() == "x"]
    assert len(crosses) == 1 and crosses[0].get_color() == styles["sgd"].color
    assert list(crosses[0].get_xdata()) == [1.5] and list(crosses[0].get_ydata()) == [train_loss.get_ylim()[1]]
    assert any(text.get_text().startswith("diverged here") for legend in figure.legends for text in legend.texts)
    calm_only = load_sweep_record(write_sweep(tmp_path / "calm", [calm]))
    calm_choices = choose_lrs(calm_only.runs, calm_only.optimizers)
    quiet = plots.curves_figure(calm_only, calm_choices, plots.choice_styles(calm_choices))
    assert not [line for ax in quiet.axes for line in ax.get_lines() if line.get_marker() == "x"]


def figures_of(folder: Path) -> dict:
    from optlab.report import plots

    record = load_sweep_record(folder)
    choices = choose_lrs(record.runs, record.optimizers)
    styles = plots.choice_styles(choices)
    return {"record": record, "styles": styles, "train_loss": plots.train_loss_figure(record, choices, styles),
            "val_acc": plots.val_acc_figure(record, choices, styles),
            "curves": plots.curves_figure(record, choices, styles),
            "pairwise": plots.pairwise_figure(record, choices, styles, report_verdicts(record, choices).rows)}


def test_a_one_epoch_one_seed_look_reads_plainly_in_its_figures(tmp_path):
    runs = [fake_run(name, 1e-2, seed, val=0.9, test=0.8) for name in ("adam", "adamw") for seed in (0, 1, 2)]
    stuck = fake_run("sgd", 1e-2, 0, val=0.1, test=0.1)  # still at its starting loss after one epoch
    for run in [*runs, stuck]:
        run["epochs"] = run["epochs"][:1]
        run["epochs"][0].update(train_loss=0.2, val_loss=0.1)
        run["train_loss_curve"] = [[s, 2.3 * 0.9 ** s] for s in range(1, 11)]
    stuck["epochs"][0].update(train_loss=2.3, val_loss=2.3)
    stuck["train_loss_curve"] = [[s, 2.3] for s in range(1, 11)]
    folder = write_sweep(tmp_path / "look", [*runs, stuck])
    manifest = json.loads((folder / "sweep.json").read_text())
    manifest["protocol"]["max_epochs"] = 1
    (folder / "sweep.json").write_text(json.dumps(manifest))
    figures = figures_of(folder)
    for key in ("val_acc", "curves"):  # whole epochs: one tick at 1, not 0.8, 0.9, ...
        assert all(list(ax.get_xticks()) == [1.0] for ax in figures[key].axes if ax.get_xlabel() == "epoch")
    val_loss = next(ax for ax in figures["curves"].axes if ax.get_ylabel() == "val loss")
    assert val_loss.get_ylim()[1] >= 2.3  # the stuck optimizer stays on the axis: it did not blow up
    assert not [line for line in val_loss.get_lines() if line.get_marker() == "^"]
    pairwise_cells = [text.get_text() for text in figures["pairwise"].axes[0].texts]
    assert "+0.0" in pairwise_cells and "-0.0" not in pairwise_cells  # adam and adamw tie in every seed


def test_legends_say_seeds_only_where_curves_differ_and_titles_say_them_once(tmp_path):
    one = [fake_run(name, 1e-2, 0, val=0.7, test=0.6) for name in ("sgd", "adam")]
    figure = figures_of(write_sweep(tmp_path / "one", one))["train_loss"]
    labels = [text.get_text() for legend in figure.legends for text in legend.texts]
    assert "sgd lr=0.01" in labels and not [label for label in labels if "seed" in label]
    assert "one seed each" in figure.axes[0].get_title()
    mixed = [*one, fake_run("adam", 1e-2, 1, val=0.7, test=0.6)]
    figure = figures_of(write_sweep(tmp_path / "mixed", mixed))["train_loss"]
    labels = [text.get_text() for legend in figure.legends for text in legend.texts]
    assert "sgd lr=0.01 (1 seed)" in labels and "adam lr=0.01 (2 seeds)" in labels


def test_a_log_loss_axis_under_three_decades_labels_more_than_one_tick(tmp_path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    runs = [fake_run(name, 1e-2, 0, val=0.7, test=0.6) for name in ("sgd", "adam")]
    runs[1]["train_loss_curve"] = [[s, 2.3 * 0.85 ** s] for s in range(1, 31)]  # 2.3 down to 0.02
    figure = figures_of(write_sweep(tmp_path / "log", runs))["train_loss"]
    FigureCanvasAgg(figure).draw()
    ax = figure.axes[0]
    low, high = ax.get_ylim()
    shown = [label.get_text() for label in ax.get_yticklabels()
             if label.get_text() and low <= label.get_position()[1] <= high]
    assert ax.get_yscale() == "log" and len(shown) >= 4, shown


def test_a_curve_whose_runs_all_diverged_gets_its_cross_not_an_off_axis_triangle(tmp_path):
    calm = fake_run("adam", 1e-2, 0, val=0.6, test=0.6)
    blown = fake_run("sgd", 1e-2, 0, val=0.1, test=0.1)
    blown.update(status="diverged", diverged=True, diverged_step=5)
    blown["train_loss_curve"] = [[1, 2.3], [2, 40.0], [3, 900.0], [4, 8e5]]
    figure = figures_of(write_sweep(tmp_path / "blown", [calm, blown]))["train_loss"]
    markers = [line.get_marker() for line in figure.axes[0].get_lines()]
    assert "x" in markers and "^" not in markers


def overlapping(texts: list) -> list[tuple[str, str]]:
    """Pairs of unrotated texts whose drawn boxes overlap."""
    boxes = [(text.get_text(), text.get_window_extent()) for text in texts if text.get_text()]
    return [(a, b) for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2) if box_a.overlaps(box_b)]


def slanted_clearance(ax, renderer) -> float:
    """Pixels between neighbouring slanted x labels, across their slant: the tick spacing times the sine of the
    angle, less the labels' line height (a rotated label's upright box overlaps its neighbour's even when the
    glyphs are apart, so boxes cannot tell)."""
    labels = ax.get_xticklabels()
    angle = labels[0].get_rotation()
    heights = []
    for label in labels:
        label.set_rotation(0)
        heights.append(label.get_window_extent(renderer).height)
        label.set_rotation(angle)
    xs = sorted(ax.transData.transform([(tick, 0) for tick in ax.get_xticks()])[:, 0])
    spacing = min(b - a for a, b in zip(xs, xs[1:]))
    return spacing * math.sin(math.radians(angle or 90)) - max(heights)


def test_the_pairwise_figures_labels_never_overlap_for_the_nineteen_registry_optimizers(tmp_path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from optlab.optimizers.registry import OPTIMIZERS
    from optlab.report import plots

    # Each at its default lr (the longest tick labels: "schedulefree_adamw lr 0.0025"), three seeds, every pair.
    runs = [{**fake_run(name, entry.lr, seed, val=0.5 + index / 50, test=0.5 + index / 50 + seed / 200),
             "family": entry.family} for index, (name, entry) in enumerate(OPTIMIZERS.items()) for seed in (0, 1, 2)]
    record = load_sweep_record(write_sweep(tmp_path / "registry", runs))
    choices = choose_lrs(record.runs, record.optimizers)
    figure = plots.pairwise_figure(record, choices, plots.choice_styles(choices), report_verdicts(record, choices).rows)
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    ax = figure.axes[0]
    assert len(ax.get_xticklabels()) == 19 == len(OPTIMIZERS)
    assert ax.get_xticklabels()[0].get_rotation() == 45  # slanted, one line each
    assert slanted_clearance(ax, canvas.get_renderer()) > 0 and overlapping(ax.get_yticklabels()) == []
    cells = [text for text in ax.texts if text.get_text()]  # each pair's number, in its own cell
    assert len(cells) == 19 * 18 and overlapping(cells) == []
    for label in [*ax.get_xticklabels(), *ax.get_yticklabels()]:  # none cut off at the figure's edge
        box = label.get_window_extent()
        assert figure.bbox.x0 <= box.x0 and box.x1 <= figure.bbox.x1 and figure.bbox.y0 <= box.y0, label


def test_a_short_run_whose_loss_climbs_is_flagged_though_it_never_diverged(tmp_path):
    calm = fake_run("adam", 1e-2, 0, val=0.6, test=0.6)
    blown = fake_run("rmsprop", 1e-2, 0, val=0.1, test=0.1)  # 20 steps, 2.3 -> 873: no spike rule, no limit
    blown["train_loss_curve"] = [[s, 2.3 * 1.35 ** s] for s in range(1, 21)]
    start = 2.3 * (1.35 + 1.35**2 + 1.35**3) / 3  # the mean of the first three recorded points
    assert loss_rise(run_result(calm)) is None
    assert loss_rise(run_result(blown)) == pytest.approx((start, 2.3 * 1.35**20))
    report = write_report(write_sweep(tmp_path / "short", [calm, blown])).read_text()
    assert "No run diverged" not in report
    assert "Loss ended far above its start" in report and "rmsprop_lr0.01_seed0 (loss" in report
    status = {row["run"]: row["status"] for row in table(report, "Every run")}
    assert status == {"adam_lr0.01_seed0": "finished", "rmsprop_lr0.01_seed0": "finished, loss rose"}
