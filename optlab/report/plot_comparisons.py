"""The report's comparison figures: lr sensitivity over each optimizer's grid, and the pairwise heatmap."""


import numpy as np
from matplotlib.figure import Figure

from optlab.report.formatting import lr_text
from optlab.report.pairwise import PairRow
from optlab.report.plot_parts import (
    ACC_TOP,
    NO_VALIDATION,
    legend,
    message,
)
from optlab.report.plot_styles import Style
from optlab.report.selection import Choice
from optlab.report.sweep_record import SweepRecord


def lr_searched(choices: dict[str, Choice]) -> list[str]:
    """The optimizers that ran at least 2 lrs: the only ones an lr-sensitivity curve says anything about."""
    return [name for name, choice in choices.items()
            if sum(cell.val.mean is not None for cell in choice.cells) >= 2]


def lr_sensitivity_figure(record: SweepRecord, choices: dict[str, Choice], styles: dict[str, Style]) -> Figure:
    searched = lr_searched(choices)
    figure = Figure(figsize=(11 + 2.2 * ((len(searched) - 1) // 16), 4.5), layout="constrained")
    absolute, relative = figure.subplots(1, 2)
    if not record.has_validation or not searched:
        for ax in (absolute, relative):
            message(ax, NO_VALIDATION if not record.has_validation else "every optimizer ran one lr")
        return figure
    for name in searched:
        choice = choices[name]
        cells = [cell for cell in choice.cells if cell.val.mean is not None]
        colors = {name: styles[name].color}
        lrs = np.array([cell.lr for cell in cells])
        means = np.array([100 * cell.val.mean for cell in cells])
        stds = np.array([100 * (cell.val.std or 0.0) for cell in cells])
        absolute.errorbar(lrs, means, yerr=stds, color=colors[name], linestyle=styles[name].linestyle, marker="o",
                          capsize=3, label=name)
        best = means.max()
        relative.plot(lrs, means / best if best > 0 else np.full_like(means, np.nan), color=colors[name],
                      linestyle=styles[name].linestyle, marker="o", label=name)
        if choice.chosen is not None:
            absolute.plot([choice.chosen.lr], [100 * choice.chosen.val.mean], marker="*", markersize=14,
                          color=colors[name], markeredgecolor="black", linestyle="none")
    absolute.set(xscale="log", xlabel="learning rate", ylabel="final val accuracy (%)", ylim=(0, ACC_TOP),
                 title="Mean over seeds (bars: ±1 std; ★ chosen lr)")
    relative.set(xscale="log", xlabel="learning rate", ylabel="val accuracy / optimizer's best", ylim=(0, 1.05),
                 title="Relative to each optimizer's best lr")
    for ax in (absolute, relative):
        ax.title.set_fontsize(10)
        ax.grid(alpha=0.3, which="both")
    legend(figure, *absolute.get_legend_handles_labels())
    left_out = len(choices) - len(searched)
    figure.suptitle("Learning-rate sensitivity (final val accuracy)"
                    + (f"; {left_out} optimizer{'s' if left_out > 1 else ''} with one lr left out" if left_out
                       else ""), fontsize=10)
    return figure


def pairwise_figure(record: SweepRecord, choices: dict[str, Choice], styles: dict[str, Style],
                    rows: list[PairRow]) -> Figure:
    """Heatmap of mean paired test-accuracy differences (row minus column); * marks a clear difference (the
    report's own verdicts: rows from verdicts.report_verdicts)."""
    names = [choice.optimizer for choice in choices.values() if choice.chosen is not None]
    matrix = np.full((len(names), len(names)), np.nan)
    marks: dict[tuple[int, int], str] = {}
    for row in rows:
        i, j = names.index(row.a.optimizer), names.index(row.b.optimizer)
        if row.pairs.mean is not None:
            matrix[i, j], matrix[j, i] = 100 * row.pairs.mean, -100 * row.pairs.mean
            marks[i, j] = marks[j, i] = "*" if row.clear else ""
    size = max(3.5, (0.9 if len(names) <= 8 else 0.55) * len(names) + 2.5)
    figure = Figure(figsize=(size + 1.2, size), layout="constrained")
    fontsize = 8 if len(names) <= 8 else 6.5
    ax = figure.subplots()
    if len(names) < 2:
        message(ax, "fewer than 2 optimizers with a chosen lr: nothing to compare")
        return figure
    finite = matrix[np.isfinite(matrix)]
    limit = max(float(np.abs(finite).max()), 0.1) if finite.size else 1.0
    image = ax.imshow(matrix, cmap="RdBu", vmin=-limit, vmax=limit)
    for (i, j), mark in marks.items():
        dark = abs(matrix[i, j]) > 0.6 * limit
        ax.text(j, i, f"{matrix[i, j] + 0.0:+.1f}{mark}", ha="center", va="center", fontsize=fontsize - 1,
                color="white" if dark else "black")
    labels = [f"{name}\nlr {lr_text(choices[name].chosen.lr)}" for name in names]
    if len(names) <= 5:
        ax.set_xticks(range(len(names)), labels, fontsize=fontsize)
    else:  # one line each, slanted: neighbours' labels never overlap
        labels = [label.replace("\n", " ") for label in labels]
        ax.set_xticks(range(len(names)), labels, fontsize=fontsize, rotation=45, ha="right",
                      rotation_mode="anchor")
    ax.set_yticks(range(len(names)), labels, fontsize=fontsize)
    figure.colorbar(image, ax=ax, label="test acc, row minus column (pts)")
    seeds = sorted({row.pairs.n for row in rows})
    over = f"{'/'.join(map(str, seeds)) or 0} seed{'' if seeds == [1] else 's'}"
    ax.set_title("Paired test-accuracy difference at each optimizer's chosen lr\n"
                 f"mean over {over}; * = clear after the report's correction over all its verdicts", fontsize=9)
    return figure
