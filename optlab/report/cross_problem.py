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

from optlab.atomic import write_text_atomic
from optlab.report.formatting import lr_text
from optlab.report.ranking import (
    LEVEL,
    compare_with_best,
    critical_difference,
    friedman,
    holm_rank_pairs,
)
from optlab.report.selection import choose_lrs
from optlab.report.sweep_record import load_sweep_record
from optlab.sweep.results import write_json_atomic

SUMMARY_NAME = "summary.md"
SUMMARY_JSON = "cross_problem.json"
CD_FIGURE = "fig_critical_difference.png"
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
    return {run["seed"]: run.get(RANKED_ON) for run in cell.runs}


def _error_ratio(acc: float, best: float) -> float:
    if 1 - best <= 0:
        return 1.0 if acc >= best else math.inf
    return (1 - acc) / (1 - best)


def problem_comparison(runs: list[dict[str, Any]], order: list[str]) -> tuple[list[Standing], dict[str, Any]]:
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


def problem_standings(runs: list[dict[str, Any]], order: list[str]) -> list[Standing]:
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


def find_problem_folders(parent: Path) -> list[str]:
    """Sub-folders of a multi-problem sweep that hold a sweep (a sweep.json), in name order."""
    return sorted(path.parent.name for path in Path(parent).glob("*/sweep.json"))


def _acc(row: dict[str, Any]) -> str:
    std = row["test_acc_std"]
    return f"{100 * row['test_acc']:.1f}%" + (f" ± {100 * std:.1f}" if std is not None else "")


def _separated_text(row: dict[str, Any], best: str) -> str:
    if row["optimizer"] == best:
        return "best"
    if row.get("separated_from_best") is None:
        return "not judged (fewer than 3 shared seeds)"
    return "separated" if row["separated_from_best"] else "not separated"


def _friedman_lines(across: dict[str, Any], problems: int) -> list[str]:
    test, names = across["friedman"], across["common"]
    if test is None:
        return [f"Friedman's test needs at least 2 problems and 3 optimizers ranked on every one (here {problems} "
                f"and {len(names)}): no optimizer is separated from the best across problems."]
    verdict = ("the mean ranks differ" if test["p_value"] < LEVEL else
               "no evidence that the mean ranks differ, so no optimizer is separated from the best")
    lines = [f"Friedman's test over {test['problems']} problems and {test['optimizers']} optimizers: χ² "
             f"{test['chi_square']:.2f} (p {test['p_chi_square']:.3g}); Iman–Davenport F {test['iman_davenport']:.2f}, "
             f"p {test['p_value']:.3g}: {verdict}. Nemenyi critical difference at 5%: "
             f"{across['critical_difference']:.2f} ranks (CD = q·√(k(k+1)/(6N)), Demšar 2006); an optimizer is "
             "separated from the best mean rank when Friedman rejects and its gap exceeds the CD."]
    clear = [pair for pair in across["pairs"] if pair["holm_p"] < LEVEL]
    lines.append(f"Holm's step-down over the {len(across['pairs'])} pairs (z of the mean-rank difference): "
                 + ("; ".join(f"{pair['a']} vs {pair['b']} Holm p {pair['holm_p']:.3g}" for pair in clear)
                    if clear else "no clear pair") + ".")
    if test["problems"] < 5:
        lines.append(f"With {test['problems']} problems these rank tests rest on large-sample approximations and "
                     "can separate little: read them as a first look.")
    return lines


def render_summary(summary: dict[str, Any], figure: str | None = None) -> str:
    problems = list(summary["problems"])
    across = summary.get("across") or rank_statistics({})
    names = across["common"]
    lines = ["# Across problems", "", f"Ranked on {summary['ranked_on']}; each problem chose its own lrs. Mean "
             f"ranks, tests and the performance profile use one set: the {len(names)} optimizers ranked on every "
             f"one of the {len(problems)} problems, ranked among themselves.", ""]
    lines += [" ".join(_friedman_lines(across, len(problems))), ""]
    if figure:
        lines += [f"![Critical-difference diagram]({figure})", ""]
    header = ["optimizer", "mean rank", *problems, "separated from the best",
              *(f"error within {tau:g}× of best" for tau in PROFILE_TAUS)]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for entry in summary["overall"]:
        cells = [entry["optimizer"], f"{entry['mean_rank']:.2f}"]
        cells += [f"{across['ranks'][problem][entry['optimizer']]:g}" for problem in problems]
        best = entry["mean_rank"] == summary["overall"][0]["mean_rank"]
        cells.append("best" if best else "yes" if across["separated_from_best"].get(entry["optimizer"]) else "no")
        cells += [f"{100 * entry['profile'][f'{tau:g}']:.0f}%" for tau in PROFILE_TAUS]
        lines.append("| " + " | ".join(cells) + " |")
    if across["left_out"]:
        lines += ["", "Not ranked across problems (missing on some): " + "; ".join(
            f"{name} (not on {', '.join(missing)})" for name, missing in across["left_out"].items()) + "."]
    for problem in problems:
        lines += ["", f"## {problem}", ""]
        if summary.get("reports", {}).get(problem):
            lines += [f"Report: [{problem}/report.md]({problem}/report.md)", ""]
        versus = summary.get("versus_best", {}).get(problem) or {}
        if versus:
            lines += [f"Separated from the best: Tukey's all-pairs comparison over the {versus['seeds']} seeds every "
                      f"optimizer has (seeds as blocks; residual sd {100 * versus['residual_sd']:.2f} pts), which "
                      f"keeps the chance that any of equal optimizers is separated at 5%: a mean more than "
                      f"{100 * versus['threshold']:.2f} pts below the best's is separated. Not separated is not "
                      f"equal: at this spread a gap of {100 * versus['detectable_at_80_percent_power']:.2f} pts would "
                      "be separated with 80% power.", ""]
        else:
            lines += ["Fewer than 3 seeds shared by this problem's optimizers: none is judged against the best.", ""]
        lines += ["| rank | optimizer | chosen lr | seeds | test acc | separated from the best | error / best error |",
                  "|---|---|---|---|---|---|---|"]
        for row in summary["problems"][problem]:
            lines.append(f"| {row['rank']:g} | {row['optimizer']} | {lr_text(row['lr'])} | {row['seeds']} | "
                         f"{_acc(row)} | {_separated_text(row, summary['problems'][problem][0]['optimizer'])} | "
                         f"{row['error_ratio']:.3f} |")
    return "\n".join(lines) + "\n"


def write_cross_problem_summary(parent: Path, problems: list[str] | None = None) -> Path:
    """Write <parent>/summary.md and <parent>/cross_problem.json; returns the summary's path."""
    parent = Path(parent)
    summary = cross_problem_summary(parent, problems or find_problem_folders(parent))
    write_json_atomic(parent / SUMMARY_JSON, summary)
    figure = None
    if summary["across"]["critical_difference"] is not None:
        from optlab.report.cd_figure import write_cd_figure

        write_cd_figure(parent / CD_FIGURE, summary)
        figure = CD_FIGURE
    path = parent / SUMMARY_NAME
    write_text_atomic(path, render_summary(summary, figure))
    return path
