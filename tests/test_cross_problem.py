import json
import statistics

import pytest

from optlab.cli import main
from optlab.report.cross_problem import average_ranks, problem_standings, summarize_problems
from tests.helpers import sweep_args


def test_average_ranks_share_ties():
    assert average_ranks({"a": 0.9, "b": 0.8, "c": 0.9, "d": 0.5}) == {"a": 1.5, "b": 3, "c": 1.5, "d": 4}


def _run(optimizer, lr, seed, val, test):
    return {"run_id": f"{optimizer}_lr{lr:g}_seed{seed}", "optimizer": optimizer, "lr": lr, "seed": seed,
            "final_val_acc": val, "test_acc": test}


def test_standings_use_the_validation_choice_and_mark_gaps_the_paired_seeds_cannot_tell():
    # Seed 0 chooses adam's lr; seeds 1-3, which chose nothing, are compared (report/selection.split_seeds).
    runs = [
        # adam: lr 0.01 wins on validation although lr 0.1 has the higher test accuracy
        _run("adam", 0.01, 0, 0.80, 0.90), _run("adam", 0.01, 1, 0.82, 0.74), _run("adam", 0.01, 2, 0.81, 0.72),
        _run("adam", 0.01, 3, 0.81, 0.70),
        _run("adam", 0.1, 0, 0.60, 0.95), _run("adam", 0.1, 1, 0.62, 0.90), _run("adam", 0.1, 2, 0.61, 0.90),
        _run("adam", 0.1, 3, 0.61, 0.90),
        # sgd: about 1 point below adam, paired differences of both signs: not told apart
        _run("sgd", 0.1, 0, 0.70, 0.50), _run("sgd", 0.1, 1, 0.72, 0.76), _run("sgd", 0.1, 2, 0.71, 0.70),
        _run("sgd", 0.1, 3, 0.71, 0.66),
        # rmsprop: far below in every seed
        _run("rmsprop", 0.01, 0, 0.50, 0.10), _run("rmsprop", 0.01, 1, 0.50, 0.41),
        _run("rmsprop", 0.01, 2, 0.50, 0.40), _run("rmsprop", 0.01, 3, 0.50, 0.40),
    ]
    rows = {row.optimizer: row for row in problem_standings(runs, ["sgd", "adam", "rmsprop"])}
    assert rows["adam"].lr == 0.01 and rows["adam"].test_acc == pytest.approx(0.72)
    assert (rows["adam"].rank, rows["sgd"].rank, rows["rmsprop"].rank) == (1, 2, 3)
    assert rows["sgd"].tied_with_best and not rows["rmsprop"].tied_with_best
    assert rows["rmsprop"].ratio_to_best == pytest.approx(0.72 / (1.21 / 3))
    overall = summarize_problems({"p1": list(rows.values()), "p2": [rows["sgd"]]})
    sgd = next(entry for entry in overall if entry["optimizer"] == "sgd")
    assert sgd["mean_rank"] == 2 and sgd["problems"] == 2 and sgd["profile"]["1"] == 0


def _ranks_from_recorded_results(folder):
    """The ranking recomputed from a problem folder's results.json alone, without optlab's report code."""
    runs = json.loads((folder / "results.json").read_text())["runs"]
    cells = {}
    for run in runs:
        cells.setdefault(run["optimizer"], {}).setdefault(run["lr"], []).append(run)
    test = {}
    for optimizer, by_lr in cells.items():
        lr = max(sorted(by_lr), key=lambda lr: statistics.fmean(r["final_val_acc"] for r in by_lr[lr]))
        test[optimizer] = statistics.fmean(r["test_acc"] for r in by_lr[lr])
    ordered = sorted(test.values(), reverse=True)
    return {name: (ordered.index(acc) + 1 + len(ordered) - ordered[::-1].index(acc)) / 2 for name, acc in test.items()}


def test_a_two_problem_sweep_writes_both_folders_and_a_cross_problem_summary(tmp_path):
    args = sweep_args(tmp_path, "suite", "--problem", "seed_cnn", "deepobs_3c3d", "--optimizers", "sgd", "adam",
                      "--lr", "1e-3", "3e-2", "--synthetic-size", "100", "--max-epochs", "1")
    assert main(args) == 0
    suite = tmp_path / "suite"
    summary = json.loads((suite / "cross_problem.json").read_text())
    assert list(summary["problems"]) == ["seed_cnn", "deepobs_3c3d"]
    for problem in ("seed_cnn", "deepobs_3c3d"):
        runs = json.loads((suite / problem / "results.json").read_text())["runs"]
        assert len(runs) == 4 and {run["problem"] for run in runs} == {problem}
        recorded = {row["optimizer"]: row["rank"] for row in summary["problems"][problem]}
        assert recorded == _ranks_from_recorded_results(suite / problem)
    mean_ranks = {entry["optimizer"]: entry["mean_rank"] for entry in summary["overall"]}
    for name, mean_rank in mean_ranks.items():
        per_problem = [row["rank"] for rows in summary["problems"].values() for row in rows if row["optimizer"] == name]
        assert mean_rank == pytest.approx(statistics.fmean(per_problem))
    text = (suite / "summary.md").read_text()
    assert "## seed_cnn" in text and "## deepobs_3c3d" in text and "mean rank" in text
    assert not (suite / "results.json").exists()  # the problems' results stay in their own folders
