import json
import statistics

import pytest

from optlab.cli import main
from optlab.report.cross_problem import (
    Standing,
    average_ranks,
    problem_standings,
    rank_statistics,
    summarize_problems,
)
from tests.helpers import run_result, sweep_args


def test_average_ranks_share_ties():
    assert average_ranks({"a": 0.9, "b": 0.8, "c": 0.9, "d": 0.5}) == {"a": 1.5, "b": 3, "c": 1.5, "d": 4}


def _run(optimizer, lr, seed, val, test):
    return run_result({"run_id": f"{optimizer}_lr{lr:g}_seed{seed}", "optimizer": optimizer, "lr": lr, "seed": seed,
                       "final_val_acc": val, "test_acc": test})


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
    assert rows["sgd"].separated_from_best is False and rows["rmsprop"].separated_from_best is True
    assert rows["rmsprop"].ratio_to_best == pytest.approx(0.72 / (1.21 / 3))
    assert rows["rmsprop"].error_ratio == pytest.approx((1 - 1.21 / 3) / (1 - 0.72))


def test_mean_rank_and_profile_use_only_the_optimizers_on_every_problem():
    def row(name, acc, rank):
        return Standing(optimizer=name, lr=0.1, seeds=3, test_acc=acc, test_acc_std=0.01, rank=rank,
                        tied_with_best=False, ratio_to_best=1.0)

    standings = {"p1": [row("adam", 0.90, 1), row("sgd", 0.80, 2), row("rmsprop", 0.70, 3)],
                 "p2": [row("rmsprop", 0.85, 1), row("sgd", 0.60, 2)]}  # adam did not run on p2
    overall = {entry["optimizer"]: entry for entry in summarize_problems(standings)}
    assert set(overall) == {"sgd", "rmsprop"}  # adam is on one problem only: not ranked across them
    # among sgd and rmsprop: sgd first on p1, rmsprop first on p2
    assert overall["sgd"]["mean_rank"] == 1.5 and overall["rmsprop"]["mean_rank"] == 1.5
    # error ratios to the best of the two: sgd 1 and 0.4/0.15; rmsprop 0.3/0.2 and 1
    assert overall["sgd"]["profile"]["1"] == 0.5 and overall["sgd"]["profile"]["2"] == 0.5
    assert overall["rmsprop"]["profile"]["1.5"] == 1.0 and overall["rmsprop"]["profile"]["1.25"] == 0.5
    assert rank_statistics(standings)["left_out"] == {"adam": ["p2"]}


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
    assert "≈" not in text and "separated from the best" in text
    figure = suite / "fig_critical_difference.png"
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"]({figure.name})" in text
    assert set(summary["across"]["common"]) == {"sgd", "adam"} and summary["across"]["critical_difference"] > 0
    assert not (suite / "results.json").exists()  # the problems' results stay in their own folders
