"""The critical-difference diagram of a multi-problem sweep (Demšar, JMLR 2006, figure 1).

Mean ranks on an axis (best on the left), the Nemenyi critical difference as a bar of its length, and a thick
line under every group of optimizers whose mean ranks lie within one CD of each other (not separated). When
Friedman's test does not reject, no pair is separated and one line joins them all.
"""

from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from optlab.report.plot_parts import save_figure
from optlab.report.stats import LEVEL


def not_separated_groups(mean_ranks: dict[str, float], cd: float, rejects: bool = True) -> list[list[str]]:
    """Maximal runs of optimizers (in rank order) whose mean ranks span at most the CD; one run of all when the
    omnibus test did not reject."""
    names = sorted(mean_ranks, key=lambda name: (mean_ranks[name], name))
    if not rejects:
        return [names] if len(names) > 1 else []
    groups: list[list[str]] = []
    for start, name in enumerate(names):
        end = start
        while end + 1 < len(names) and mean_ranks[names[end + 1]] - mean_ranks[name] <= cd + 1e-12:
            end += 1
        if end > start and not (groups and names.index(groups[-1][-1]) >= end):
            groups.append(names[start:end + 1])
    return groups


def cd_figure(mean_ranks: dict[str, float], cd: float, rejects: bool, title: str) -> Figure:
    names = sorted(mean_ranks, key=lambda name: (mean_ranks[name], name))
    k = len(names)
    half = (k + 1) // 2
    groups = not_separated_groups(mean_ranks, cd, rejects)
    figure = Figure(figsize=(8.5, 1.4 + 0.3 * half + 0.1 * len(groups)))
    ax = figure.add_axes((0.27, 0.02, 0.46, 0.78))  # the labels sit in the margins either side
    low, high = 1, max(k, 2)
    ax.set_xlim(low - 0.2, high + 0.2)
    bottom = -(0.8 + 0.18 * len(groups) + 0.4 * half)
    ax.set_ylim(bottom, 1.6)
    ax.axis("off")
    ax.hlines(0, low, high, color="black", lw=1)
    for tick in range(low, high + 1):
        ax.vlines(tick, 0, 0.15, color="black", lw=1)
        ax.text(tick, 0.25, str(tick), ha="center", va="bottom", fontsize=9)
    # the CD bar, from the best end
    ax.hlines(1.2, low, low + cd, color="black", lw=1.5)
    ax.vlines([low, low + cd], 1.1, 1.3, color="black", lw=1.5)
    ax.text(low + cd / 2, 1.35, f"CD = {cd:.2f}", ha="center", va="bottom", fontsize=9)
    for index, name in enumerate(names):
        rank = mean_ranks[name]
        left = index < half
        depth = -(0.4 + 0.18 * len(groups) + 0.4 * (index if left else k - 1 - index))
        edge = low - 0.2 if left else high + 0.2
        ax.plot([rank, rank, edge], [0, depth, depth], color="0.3", lw=0.8)
        ax.text(edge + (-0.05 if left else 0.05), depth, f"{name} ({rank:.2f})", ha="right" if left else "left",
                va="center", fontsize=9, clip_on=False)
    for level, group in enumerate(groups):
        y = -0.15 - 0.18 * (level + 1)
        ax.hlines(y, mean_ranks[group[0]] - 0.03, mean_ranks[group[-1]] + 0.03, color="black", lw=3)
    figure.suptitle(title, fontsize=10)
    return figure


def write_cd_figure(path: Path, summary: dict[str, Any]) -> Path:
    """Draw the summary's common optimizers (cross_problem.cross_problem_summary) into path."""
    across = summary["across"]
    mean_ranks = {entry["optimizer"]: entry["mean_rank"] for entry in summary["overall"]}
    test = across["friedman"]
    rejects = test is not None and test["p_value"] < LEVEL
    problems = len(summary["problems"])
    verdict = (f"Friedman p {test['p_value']:.3g}" if test is not None else "no Friedman test (fewer than 3 "
               "optimizers)") + ("" if rejects else ": nothing separated")
    title = (f"Mean rank over {problems} problems (1 = best); joined: not separated (Nemenyi, 5%); {verdict}")
    save_figure(cd_figure(mean_ranks, across["critical_difference"], rejects, title), path)
    return path
