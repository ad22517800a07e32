"""Rankings across problems: each optimizer's rank per problem, its mean rank, and a performance profile.

Each problem's sweep chooses its own lr per optimizer on validation (as its report does); the optimizers are then
ranked within the problem by mean test accuracy at that lr (1 = best, ties share the mean of their ranks), as
DeepOBS ranks by final test accuracy. Across problems: the mean rank, and a performance profile (Dolan & Moré,
2002; AlgoPerf scores submissions with one): the share of problems on which an optimizer's accuracy is within a
factor τ of the best one's, ratio = best accuracy / its accuracy. A rank is marked "≈" where the paired
comparison with the problem's best (by seed, 95% Student-t interval, as the report's verdicts) does not exclude
zero, or rests on fewer than 3 seeds: this sweep does not tell it apart from the best.
"""

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from optlab.atomic import write_text_atomic
from optlab.report.formatting import lr_text
from optlab.report.selection import choose_lrs
from optlab.report.stats import paired
from optlab.report.sweep_record import load_sweep_record
from optlab.sweep.results import write_json_atomic

SUMMARY_NAME = "summary.md"
SUMMARY_JSON = "cross_problem.json"
RANKED_ON = "test_acc"
PROFILE_TAUS = (1.0, 1.01, 1.02, 1.05, 1.1)


@dataclass(frozen=True)
class Standing:
    """One optimizer on one problem, at the lr validation chose."""

    optimizer: str
    lr: float
    seeds: int
    test_acc: float
    test_acc_std: float | None
    rank: float
    tied_with_best: bool
    ratio_to_best: float


def average_ranks(scores: dict[str, float]) -> dict[str, float]:
    """Rank 1 for the highest score; equal scores share the mean of the ranks they span."""
    ordered = sorted(scores.values(), reverse=True)
    ranks = {}
    for name, score in scores.items():
        first = ordered.index(score) + 1
        last = len(ordered) - ordered[::-1].index(score)
        ranks[name] = (first + last) / 2
    return ranks


def _by_seed(cell) -> dict[int, float | None]:
    return {run["seed"]: run.get(RANKED_ON) for run in cell.runs}


def problem_standings(runs: list[dict[str, Any]], order: list[str]) -> list[Standing]:
    """Rank the optimizers of one problem's sweep; an optimizer with no chosen lr or no test result is left out."""
    chosen = {}
    for name, choice in choose_lrs(runs, order).items():
        if choice.chosen is not None and choice.chosen.metric(RANKED_ON).n:
            chosen[name] = choice.chosen
    if not chosen:
        return []
    means = {name: cell.metric(RANKED_ON).mean for name, cell in chosen.items()}
    ranks = average_ranks(means)
    best_name = min(ranks, key=lambda name: (ranks[name], order.index(name) if name in order else len(order)))
    best = chosen[best_name].metric(RANKED_ON)
    standings = []
    for name, cell in chosen.items():
        test = cell.metric(RANKED_ON)
        # Paired by seed, as every comparison of the report: tied unless the 95% interval excludes zero.
        difference = paired(_by_seed(chosen[best_name]), _by_seed(cell))
        clear = difference.enough and not difference.tie and difference.interval is not None \
            and difference.interval[0] > 0
        standings.append(Standing(
            optimizer=name, lr=cell.lr, seeds=test.n, test_acc=test.mean, test_acc_std=test.std, rank=ranks[name],
            tied_with_best=name == best_name or not clear,
            ratio_to_best=best.mean / test.mean if test.mean > 0 else math.inf,
        ))
    return sorted(standings, key=lambda s: (s.rank, s.optimizer))


def summarize_problems(standings: dict[str, list[Standing]]) -> list[dict[str, Any]]:
    """Per optimizer, over the problems it was ranked on: mean rank and performance-profile values."""
    names = []
    for rows in standings.values():
        names += [row.optimizer for row in rows if row.optimizer not in names]
    overall = []
    for name in names:
        rows = [row for rows in standings.values() for row in rows if row.optimizer == name]
        overall.append({
            "optimizer": name,
            "problems": len(rows),
            "mean_rank": sum(row.rank for row in rows) / len(rows),
            "profile": {f"{tau:g}": sum(row.ratio_to_best <= tau + 1e-12 for row in rows) / len(standings)
                        for tau in PROFILE_TAUS},
        })
    return sorted(overall, key=lambda entry: (entry["mean_rank"], -entry["problems"], entry["optimizer"]))


def cross_problem_summary(parent: Path, problems: list[str]) -> dict[str, Any]:
    """Standings per problem read from <parent>/<problem>/ sweep folders, and the summary over problems."""
    standings: dict[str, list[Standing]] = {}
    for problem in problems:
        record = load_sweep_record(Path(parent) / problem)
        standings[problem] = problem_standings(record.runs, record.optimizers)
    return {
        "ranked_on": f"mean {RANKED_ON} over seeds at the lr chosen on validation (1 = best)",
        "reports": {problem: (Path(parent) / problem / "report.md").is_file() for problem in problems},
        "problems": {problem: [asdict(row) for row in rows] for problem, rows in standings.items()},
        "overall": summarize_problems(standings),
    }


def find_problem_folders(parent: Path) -> list[str]:
    """Sub-folders of a multi-problem sweep that hold a sweep (a sweep.json), in name order."""
    return sorted(path.parent.name for path in Path(parent).glob("*/sweep.json"))


def _acc(row: dict[str, Any]) -> str:
    std = row["test_acc_std"]
    return f"{100 * row['test_acc']:.1f}%" + (f" ± {100 * std:.1f}" if std is not None else "")


def render_summary(summary: dict[str, Any]) -> str:
    problems = list(summary["problems"])
    lines = ["# Across problems", "", f"Ranked on {summary['ranked_on']}; each problem chose its own lrs. "
             "≈: not told apart from that problem's best (the paired 95% interval over seeds includes zero, or "
             "fewer than 3 seeds).", ""]
    header = ["optimizer", "mean rank", *problems, *(f"within {tau:g}× of best" for tau in PROFILE_TAUS)]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    by_problem = {p: {row["optimizer"]: row for row in rows} for p, rows in summary["problems"].items()}
    for entry in summary["overall"]:
        cells = [entry["optimizer"], f"{entry['mean_rank']:.2f} ({entry['problems']} problems)"]
        for problem in problems:
            row = by_problem[problem].get(entry["optimizer"])
            cells.append("—" if row is None else
                         f"{row['rank']:g}{' ≈' if row['tied_with_best'] and row['rank'] != 1 else ''}")
        cells += [f"{100 * entry['profile'][f'{tau:g}']:.0f}%" for tau in PROFILE_TAUS]
        lines.append("| " + " | ".join(cells) + " |")
    for problem in problems:
        lines += ["", f"## {problem}", ""]
        if summary.get("reports", {}).get(problem):
            lines += [f"Report: [{problem}/report.md]({problem}/report.md)", ""]
        lines += ["| rank | optimizer | chosen lr | seeds | test acc | best / this |", "|---|---|---|---|---|---|"]
        for row in summary["problems"][problem]:
            lines.append(f"| {row['rank']:g}{' ≈' if row['tied_with_best'] and row['rank'] != 1 else ''} | "
                         f"{row['optimizer']} | {lr_text(row['lr'])} | {row['seeds']} | {_acc(row)} | "
                         f"{row['ratio_to_best']:.3f} |")
    return "\n".join(lines) + "\n"


def write_cross_problem_summary(parent: Path, problems: list[str] | None = None) -> Path:
    """Write <parent>/summary.md and <parent>/cross_problem.json; returns the summary's path."""
    parent = Path(parent)
    summary = cross_problem_summary(parent, problems or find_problem_folders(parent))
    write_json_atomic(parent / SUMMARY_JSON, summary)
    path = parent / SUMMARY_NAME
    write_text_atomic(path, render_summary(summary))
    return path
