"""Rankings across problems: each optimizer's rank per problem, Friedman's test over the problems, the Nemenyi
critical difference, and a performance profile on test error.

Each problem's sweep chooses its own lr per optimizer on validation (as its report does); the optimizers are then
ranked within the problem by mean test accuracy at that lr (1 = best, ties share the mean of their ranks), as
DeepOBS ranks by final test accuracy. Within a problem an optimizer is marked *separated from the best* by Tukey's
all-pairs comparison over seeds (see ranking.py); otherwise this sweep does not tell it apart from the best, which
is absence of evidence, not equivalence, so the report states the gap it could have detected with 80% power.

Across problems, everything uses one set: the optimizers ranked on every problem, re-ranked among themselves.
Their mean ranks, Friedman's test (Iman–Davenport F), the Nemenyi critical difference (Demšar, JMLR 2006) and the
performance profile (Dolan & Moré, 2002): the share of problems on which an optimizer's test error is within a
factor τ of the best one's, ratio = its error / the best error (a ratio of errors means the same at 60% and at 95%
accuracy; a ratio of accuracies does not). Optimizers missing on some problem are listed, not ranked.
"""

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from optlab.records.run_result import RunResult
from optlab.report.ranking import (
    LEVEL,
    compare_with_best,
    critical_difference,
    friedman,
    holm_rank_pairs,
)
from optlab.report.selection import choose_lrs
from optlab.report.sweep_record import load_sweep_record

RANKED_ON = "test_acc"
PROFILE_TAUS = (1.0, 1.05, 1.1, 1.25, 1.5, 2.0)


@dataclass(frozen=True)
class Standing:
    """One optimizer on one problem, at the lr validation chose.

    tied_with_best: not separated from the problem's best (see separated_from_best; True also when not judged);
    separated_from_best: None when not judged (fewer than 3 seeds shared by the problem's optimizers);
    ratio_to_best: best accuracy / this accuracy (kept for older readers); error_ratio: this error / best error.
    """

    optimizer: str
    lr: float
    seeds: int
    test_acc: float
    test_acc_std: float | None
    rank: float
    tied_with_best: bool
    ratio_to_best: float
    separated_from_best: bool | None = None
    error_ratio: float = 1.0


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
    return {run.seed: getattr(run, RANKED_ON) for run in cell.runs}


def _error_ratio(acc: float, best: float) -> float:
    if 1 - best <= 0:
        return 1.0 if acc >= best else math.inf
    return (1 - acc) / (1 - best)


def problem_comparison(runs: list[RunResult], order: list[str]) -> tuple[list[Standing], dict[str, Any]]:
    """One problem's standings, and its comparison with the best (seeds, spread, threshold, detectable gap)."""
    chosen = {}
    for name, choice in choose_lrs(runs, order).items():
        if choice.chosen is not None and choice.chosen.metric(RANKED_ON).n:
            chosen[name] = choice.chosen
    if not chosen:
        return [], {}
    means = {name: cell.metric(RANKED_ON).mean for name, cell in chosen.items()}
    ranks = average_ranks(means)
    best_name = min(ranks, key=lambda name: (ranks[name], order.index(name) if name in order else len(order)))
    best = chosen[best_name].metric(RANKED_ON)
    versus = compare_with_best({name: _by_seed(cell) for name, cell in chosen.items()}, order)
    standings = []
    for name, cell in chosen.items():
        test = cell.metric(RANKED_ON)
        separated = None if versus is None else versus.separated(name)
        standings.append(Standing(
            optimizer=name, lr=cell.lr, seeds=test.n, test_acc=test.mean, test_acc_std=test.std, rank=ranks[name],
            tied_with_best=not separated, ratio_to_best=best.mean / test.mean if test.mean > 0 else math.inf,
            separated_from_best=separated, error_ratio=_error_ratio(test.mean, best.mean),
        ))
    judged = {} if versus is None else {
        "seeds": versus.seeds, "residual_sd": versus.residual_sd, "threshold": versus.threshold,
        "detectable_at_80_percent_power": versus.detectable, "best_over_shared_seeds": versus.best}
    return sorted(standings, key=lambda s: (s.rank, s.optimizer)), judged


def problem_standings(runs: list[RunResult], order: list[str]) -> list[Standing]:
    """Rank the optimizers of one problem's sweep; an optimizer with no chosen lr or no test result is left out."""
    return problem_comparison(runs, order)[0]


def common_optimizers(standings: dict[str, list[Standing]]) -> list[str]:
    """The optimizers ranked on every problem, in the order they first appear."""
    names: list[str] = []
    for rows in standings.values():
        names += [row.optimizer for row in rows if row.optimizer not in names]
    return [name for name in names if all(any(row.optimizer == name for row in rows) for rows in standings.values())]


def common_ranks(standings: dict[str, list[Standing]]) -> tuple[list[str], np.ndarray]:
    """The common optimizers and their ranks among themselves on each problem (problems × optimizers)."""
    names = common_optimizers(standings)
    table = []
    for rows in standings.values():
        accs = {row.optimizer: row.test_acc for row in rows if row.optimizer in names}
        ranks = average_ranks(accs)
        table.append([ranks[name] for name in names])
    return names, np.array(table, dtype=float).reshape(len(standings), len(names))


def summarize_problems(standings: dict[str, list[Standing]]) -> list[dict[str, Any]]:
    """Per optimizer ranked on every problem: mean rank among those, and its performance profile on test error,
    both over the same problems."""
    names, ranks = common_ranks(standings)
    overall = []
    for index, name in enumerate(names):
        accs = [{row.optimizer: row.test_acc for row in rows if row.optimizer in names} for rows in standings.values()]
        ratios = [_error_ratio(acc[name], max(acc.values())) for acc in accs]
        overall.append({
            "optimizer": name,
            "problems": len(standings),
            "mean_rank": float(ranks[:, index].mean()),
            "profile": {f"{tau:g}": sum(ratio <= tau + 1e-12 for ratio in ratios) / len(standings)
                        for tau in PROFILE_TAUS},
        })
    return sorted(overall, key=lambda entry: (entry["mean_rank"], entry["optimizer"]))


def rank_statistics(standings: dict[str, list[Standing]]) -> dict[str, Any]:
    """Friedman's test, the Nemenyi critical difference and Holm over the pairs of the common optimizers' ranks;
    an optimizer is separated from the best mean rank only when Friedman rejects and the gap exceeds the CD."""
    names, ranks = common_ranks(standings)
    problems = len(standings)
    left_out = {row.optimizer: sorted(p for p, rs in standings.items() if all(r.optimizer != row.optimizer
                                                                                for r in rs))
                for rows in standings.values() for row in rows if row.optimizer not in names}
    within = {problem: {name: float(ranks[row, index]) for index, name in enumerate(names)}
              for row, problem in enumerate(standings)}
    if not names or problems < 2:
        return {"common": names, "left_out": left_out, "ranks": within, "friedman": None,
                "critical_difference": None, "separated_from_best": {}, "pairs": []}
    mean_ranks = {name: float(ranks[:, index].mean()) for index, name in enumerate(names)}
    test = friedman(ranks)
    cd = critical_difference(len(names), problems) if len(names) >= 2 else None
    best = min(mean_ranks.values())
    rejects = test is not None and test.p_value < LEVEL
    return {
        "common": names,
        "left_out": left_out,
        "ranks": within,
        "friedman": None if test is None else asdict(test),
        "critical_difference": cd,
        "separated_from_best": {name: bool(rejects and rank - best > cd) for name, rank in mean_ranks.items()},
        "pairs": holm_rank_pairs(mean_ranks, problems) if len(names) >= 2 else [],
    }


def cross_problem_summary(parent: Path, problems: list[str]) -> dict[str, Any]:
    """Standings per problem read from <parent>/<problem>/ sweep folders, and the summary over problems."""
    standings: dict[str, list[Standing]] = {}
    versus: dict[str, dict[str, Any]] = {}
    for problem in problems:
        record = load_sweep_record(Path(parent) / problem)
        standings[problem], versus[problem] = problem_comparison(record.runs, record.optimizers)
    return {
        "ranked_on": f"mean {RANKED_ON} over seeds at the lr chosen on validation (1 = best)",
        "reports": {problem: (Path(parent) / problem / "report.md").is_file() for problem in problems},
        "problems": {problem: [asdict(row) for row in rows] for problem, rows in standings.items()},
        "versus_best": versus,
        "overall": summarize_problems(standings),
        "across": rank_statistics(standings),
        "profile_on": "test error ratio to the best of the common optimizers on each problem",
    }
