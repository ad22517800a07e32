"""report.md, figures and claims: made from the recorded results alone, with the test set never choosing anything."""

import importlib.util
import itertools
import json
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
from matplotlib.image import imread
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from optlab.cli import main
from optlab.report.claims import CONTRADICTED, INCONCLUSIVE, SUPPORTED, judge_claims
from optlab.report.document import write_report
from optlab.report.health import loss_rise
from optlab.report.plots import FIGURES
from optlab.report.selection import choose_lrs
from optlab.report.sweep_record import load_sweep_record
from tests.helpers import ROOT, sweep_args

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
    """'61.2 ± 0.8%' must be the mean and sample std of values, to the printed precision."""
    shown = numbers(text)
    tolerance = 0.51 * 10 ** -digits
    assert shown[0] == pytest.approx(scale * statistics.fmean(values), abs=tolerance), text
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
        by_lr = {lr: [r for r in runs if r["optimizer"] == optimizer and r["lr"] == lr] for lr in (1e-2, 1e-3)}
        mean_val = {lr: statistics.fmean(r["final_val_acc"] for r in cell) for lr, cell in by_lr.items()}
        chosen = max(sorted(mean_val), key=lambda lr: mean_val[lr])  # ties: the smaller lr
        cell = by_lr[chosen]
        assert float(row["chosen lr"]) == chosen and row["seeds"] == "2"
        assert_mean_std(row["val acc"], [r["final_val_acc"] for r in cell])
        assert_mean_std(row["test acc"], [r["test_acc"] for r in cell])
        assert_mean_std(row["gen. gap"], [r["generalization_gap"] for r in cell])
        assert_mean_std(row["images/s"], [r["images_per_second"] for r in cell], scale=1, digits=0)
        budget = [r["time_to_target"]["step"] if r["time_to_target"] else max_epochs * r["epochs"][0]["step"]
                  for r in cell]
        assert_mean_std(row["steps to target"], budget, scale=1, digits=0)
        assert row["reached target"] == f"{sum(bool(r['time_to_target']) for r in cell)}/2"
        state = statistics.fmean(r["optimizer_state_bytes"] for r in cell) / 2**20
        assert numbers(row["optimizer state"])[0] == pytest.approx(state, abs=0.006)
        assert row["diverged"] == "0/2"


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
    return {
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
    }


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
    assert choose_lrs(runs)["adam"].chosen.lr == 1e-3
    report = write_report(write_sweep(tmp_path / "disagree", runs)).read_text()
    row = table(report, "Summary")[0]
    assert row["chosen lr"] == "0.001" and row["test acc"] == "50.0 ± 0.0%"


def test_test_metrics_never_change_the_chosen_lrs(grid):
    runs = recorded_runs(grid)
    chosen = {name: choice.chosen.lr for name, choice in choose_lrs(runs).items()}
    inverted = [{**run, "test_acc": 1 - run["final_val_acc"], "test_loss": -run["test_loss"]} for run in runs]
    without = [{key: value for key, value in run.items() if not key.startswith("test_")} for run in runs]
    for changed in (inverted, without):
        assert {name: choice.chosen.lr for name, choice in choose_lrs(changed).items()} == chosen


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
    for seed in (0, 1, 2):
        # every chosen lr (1e-2) inside its grid, so each claim is a tuned comparison
        runs += [fake_run("sgd", lr, seed, val=v, test=0.70) for lr, v in ((1e-3, 0.40), (1e-2, 0.80), (1e-1, 0.30))]
        runs += [fake_run("adam", lr, seed, val=v, test=0.60, reach_step=10, state=200, images_per_second=800)
                 for lr, v in ((1e-3, 0.77), (1e-2, 0.80), (1e-1, 0.78))]
        runs += [fake_run("rmsprop", lr, seed, val=v, test=0.60, reach_step=10, state=100, images_per_second=850)
                 for lr, v in ((1e-3, 0.76), (1e-2, 0.79), (1e-1, 0.77))]
    runs = [{**run, "images_per_second": run["images_per_second"] + run["seed"]} for run in runs]  # a little spread
    claims = claims_of(write_sweep(tmp_path / "agree", runs))
    assert claims["a"].verdict == SUPPORTED, claims["a"]
    assert claims["c"].verdict == SUPPORTED, claims["c"]
    assert claims["d1"].verdict == SUPPORTED and claims["d2"].verdict == SUPPORTED
    assert claims["e"].verdict == SUPPORTED
    assert claims["b"].verdict == INCONCLUSIVE and "momentum is not in this sweep" in claims["b"].missing


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
    for seed in (0, 1, 2):
        runs.append(fake_run("sgd", 1e-2, seed, val=0.70 + seed / 100, test=0.50, reach_step=10))
        runs.append(fake_run("momentum", 1e-2, seed, val=0.70 + seed / 100, test=0.50))
        runs.append(fake_run("adam", 1e-3, seed, val=0.80 + seed / 100, test=0.80 + seed / 100))
        # worse lrs on either side: the chosen ones are inside their grids, so the claims are decided
        runs += [fake_run(name, lr * factor, seed, val=0.2, test=0.2) for name, lr in
                 (("sgd", 1e-2), ("momentum", 1e-2), ("adam", 1e-3)) for factor in (0.1, 10)]
    claims = claims_of(write_sweep(tmp_path / "disagree", runs))
    assert claims["a"].verdict == CONTRADICTED  # adam never reaches the target; sgd does at step 10
    assert claims["b"].verdict == CONTRADICTED
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
    for name in FIGURES.values():
        assert (tmp_path / "wide" / name).read_bytes()[:8] == PNG_SIGNATURE


def test_a_short_run_whose_loss_climbs_is_flagged_though_it_never_diverged(tmp_path):
    calm = fake_run("adam", 1e-2, 0, val=0.6, test=0.6)
    blown = fake_run("rmsprop", 1e-2, 0, val=0.1, test=0.1)  # 20 steps, 2.3 -> 873: no spike rule, no limit
    blown["train_loss_curve"] = [[s, 2.3 * 1.35 ** s] for s in range(1, 21)]
    start = 2.3 * (1.35 + 1.35**2 + 1.35**3) / 3  # the mean of the first three recorded points
    assert loss_rise(calm) is None and loss_rise(blown) == pytest.approx((start, 2.3 * 1.35**20))
    report = write_report(write_sweep(tmp_path / "short", [calm, blown])).read_text()
    assert "No run diverged" not in report
    assert "Loss ended far above its start" in report and "rmsprop_lr0.01_seed0 (loss" in report
    status = {row["run"]: row["status"] for row in table(report, "Every run")}
    assert status == {"adam_lr0.01_seed0": "finished", "rmsprop_lr0.01_seed0": "finished, loss rose"}
