"""The report's figures, drawn from recorded results only: curves at each optimizer's chosen lr, lr sensitivity.

Figures are built as plain matplotlib Figures on the Agg canvas (no pyplot), so drawing needs no display and
leaves no global state behind in a long-lived process. Missing numbers (no validation split, a run cut short by
divergence) are NaN and simply leave gaps.
"""

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter

from optlab.atomic import write_atomic
from optlab.records.run_result import FAMILY_BY_NAME
from optlab.report.formatting import lr_text
from optlab.report.pairwise import PairRow
from optlab.report.selection import Cell, Choice
from optlab.report.sweep_record import SweepRecord
from optlab.report.target import steps_per_epoch

FIGURES = {
    "train_loss": "fig_train_loss.png",
    "val_acc": "fig_val_acc.png",
    "lr_sensitivity": "fig_lr_sensitivity.png",
    "curves": "fig_curves.png",
    "pairwise": "fig_pairwise.png",
}
NO_VALIDATION = "no validation split in this sweep"
ACC_TOP = 102  # a little above 100% so curves that reach it stay visible


@dataclass(frozen=True)
class Style:
    """How one optimizer is drawn in every figure of a report."""

    color: tuple
    linestyle: str


@dataclass(frozen=True)
class Curve:
    """One line of a figure: a cell over its seeds, how it is labelled and drawn."""

    cell: Cell
    label: str
    color: tuple
    linestyle: str = "-"
    marker: str | None = None  # tells apart the lrs of one optimizer where every lr is drawn


LINESTYLES = ("-", "--", ":", "-.")
LR_MARKERS = ("o", "s", "^", "v", "D", "P")
# Each family its hue; an optimizer of no known family gets one of the qualitative colours.
FAMILY_COLORMAPS = {"sgd": "Blues", "adaptive": "YlOrRd", "orthogonalized": "Greens", "lr-free": "Purples",
                    "schedule-free": "RdPu"}
# A family's members cycle through this many shades before the next line style: few enough that neighbours in
# a family (adam, adamax, adamw) differ in both shade and line style, not by a sixth of one hue.
SHADES = 4


def optimizer_styles(families: dict[str, str | None]) -> dict[str, Style]:
    """A colour and line style per optimizer: the family's hue, then a shade and a line style by the name's place
    among its family's names sorted, so the same names get the same styles whatever order they come in, and no
    two optimizers share both colour and line style."""
    from matplotlib import colormaps

    members: dict[str | None, list[str]] = {}
    for name in sorted(families):
        family = families[name] if families[name] in FAMILY_COLORMAPS else None
        members.setdefault(family, []).append(name)
    styles = {}
    for family, names in members.items():
        shades = max(min(len(names), SHADES if family else 10), -(-len(names) // len(LINESTYLES)))
        if family:
            colormap = colormaps[FAMILY_COLORMAPS[family]]
            palette = [colormap(0.45 + 0.5 * index / max(shades - 1, 1)) for index in range(shades)]
        elif shades <= 10:
            palette = [colormaps["tab10"](index) for index in range(shades)]
        else:
            palette = [colormaps["turbo"](0.05 + 0.9 * index / (shades - 1)) for index in range(shades)]
        for index, name in enumerate(names):
            styles[name] = Style(palette[index % shades], LINESTYLES[(index // shades) % len(LINESTYLES)])
    return styles


def choice_styles(choices: dict[str, Choice]) -> dict[str, Style]:
    """optimizer_styles for a report's optimizers, by the family their runs recorded."""
    return optimizer_styles({name: choice.family for name, choice in choices.items()})


def _plotted_cells(choices: dict[str, Choice]) -> dict[str, list[Cell]]:
    """The chosen lr of each optimizer, or every lr where none was chosen."""
    return {name: [choice.chosen] if choice.chosen is not None else list(choice.cells)
            for name, choice in choices.items()}


def common_seeds(choices: dict[str, Choice]) -> int | None:
    """The number of seeds behind every plotted curve, when it is the same for all (then said once, in the title,
    rather than in each legend entry)."""
    counts = {len(cell.runs) for cells in _plotted_cells(choices).values() for cell in cells}
    return counts.pop() if len(counts) == 1 else None


def plotted_curves(choices: dict[str, Choice], styles: dict[str, Style]) -> list[Curve]:
    """The chosen lr of each optimizer, or every lr (one marker each) where none was chosen."""
    curves = []
    same = common_seeds(choices)
    for name, cells in _plotted_cells(choices).items():
        for index, cell in enumerate(cells):
            notes = [] if same else [f"{len(cell.runs)} seed{'s' if len(cell.runs) > 1 else ''}"]
            notes += [f"{cell.diverged} diverged"] if cell.diverged else []
            marker = LR_MARKERS[index % len(LR_MARKERS)] if len(cells) > 1 else None
            label = f"{name} lr={lr_text(cell.lr)}" + (f" ({', '.join(notes)})" if notes else "")
            curves.append(Curve(cell, label, styles[name].color, styles[name].linestyle, marker))
    return curves


def _legend(figure: Figure, handles: list, labels: list[str] | None = None, below: bool = False) -> None:
    """The figure's legend outside its axes: to the right (one column per 16 entries), or below."""
    if not handles:
        return
    labels = labels if labels is not None else [handle.get_label() for handle in handles]
    if below:
        figure.legend(handles, labels, loc="outside lower center", ncols=min(len(handles), 4), fontsize=7)
    else:
        figure.legend(handles, labels, loc="outside right upper", ncols=-(-len(handles) // 16), fontsize=7)


def _title(what: str, choices: dict[str, Choice], band: str) -> str:
    where = "each optimizer's chosen lr"
    if any(choice.chosen is None for choice in choices.values()):
        where += " (every lr where none is chosen)"
    seeds = common_seeds(choices)
    if seeds == 1:
        return f"{what} at {where}\none seed each (no band)"
    over = f"{seeds} seeds" if seeds else "seeds"
    return f"{what} at {where}\nline: mean over {over}, band: {band} over seeds"


def optimizer_colors(names: list[str], families: dict[str, str | None] | None = None) -> dict[str, tuple]:
    """The colours of optimizer_styles (families by name where none are given)."""
    families = families or {name: FAMILY_BY_NAME.get(name) for name in names}
    return {name: style.color for name, style in optimizer_styles(families).items()}


def _nan_stats(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean, std, min and max over seeds (rows), ignoring NaN; all-NaN columns stay NaN without warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        std = np.nanstd(matrix, axis=0, ddof=1)
        std[np.sum(np.isfinite(matrix), axis=0) < 2] = np.nan
        return np.nanmean(matrix, axis=0), std, np.nanmin(matrix, axis=0), np.nanmax(matrix, axis=0)


def epoch_matrix(cell: Cell, key: str, epochs: int) -> np.ndarray:
    """One row per seed, one column per epoch; NaN where the run recorded nothing."""
    matrix = np.full((len(cell.runs), epochs), np.nan)
    for row, run in enumerate(cell.runs):
        for record in run.epochs:
            value = getattr(record, key)
            if value is not None and 1 <= record.epoch <= epochs:
                matrix[row, record.epoch - 1] = value
    matrix[~np.isfinite(matrix)] = np.nan
    return matrix


def loss_matrix(cell: Cell) -> tuple[np.ndarray, np.ndarray]:
    """Each seed's downsampled loss curve on the longest seed's steps (interpolated, NaN past its end)."""
    curves = [np.asarray(run.train_loss_curve, dtype=float).reshape(-1, 2) for run in cell.runs]
    curves = [curve[np.isfinite(curve[:, 1])] for curve in curves]
    longest = max(curves, key=lambda curve: curve[-1, 0] if len(curve) else -1)
    steps = longest[:, 0]
    matrix = np.full((len(curves), len(steps)), np.nan)
    for row, curve in enumerate(curves):
        if len(curve):
            inside = (steps >= curve[0, 0]) & (steps <= curve[-1, 0])
            matrix[row, inside] = np.interp(steps[inside], curve[:, 0], curve[:, 1])
    return steps, matrix


def draw_band(ax: Axes, x: np.ndarray, matrix: np.ndarray, curve: Curve, band: str) -> bool:
    """Mean line over seeds with a shaded band: 'minmax' or 'std' (mean ± sample std); False if nothing to draw."""
    mean, std, low, high = _nan_stats(matrix)
    if band == "std":
        low, high = mean - std, mean + std
    shown = np.isfinite(mean) & np.isfinite(np.asarray(x, dtype=float))
    if not shown.any():
        return False
    few = shown.sum() < 12
    ax.plot(x[shown], mean[shown], color=curve.color, linestyle=curve.linestyle, label=curve.label,
            marker=curve.marker or ("o" if few else None), markersize=3 if few else 4,
            markevery=1 if few else max(1, int(shown.sum()) // 8))
    ok = shown & np.isfinite(low) & np.isfinite(high)
    if matrix.shape[0] > 1 and ok.any():
        ax.fill_between(x[ok], low[ok], high[ok], color=curve.color, alpha=0.2, linewidth=0)
    return True


def _epoch_axis(ax: Axes, epochs: int, first: float = 1.0) -> None:
    """Whole epochs only: a 1-epoch look would otherwise get ticks at 0.8, 0.9, ... first: the leftmost point
    to show (a divergence before the first epoch's end)."""
    ax.set_xlim(min(0.75, first - 0.15), epochs + 0.25)
    if epochs <= 10:
        ax.set_xticks(np.arange(1, epochs + 1))
    else:
        ax.xaxis.get_major_locator().set_params(integer=True)


def _message(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")


def loss_ceiling(values: list[np.ndarray], starts: list[float] | None = None) -> float | None:
    """Three times the median starting loss (each curve's first value, or the given starts): a run that blew up
    (even from its first epoch) does not set the scale; curves above it leave the axis at its top edge, marked
    there."""
    starts = starts or [v[np.isfinite(v)][0] for v in values if np.isfinite(v).any()]
    return 3 * float(np.median(starts)) if starts else None


def first_step_losses(plotted: list[Curve]) -> list[float]:
    """The loss of each plotted run's first recorded step: before any update has had an effect, so about the
    same for every optimizer (same initial weights), whatever a run did afterwards."""
    starts = []
    for curve in plotted:
        for run in curve.cell.runs:
            points = [loss for _, loss in run.train_loss_curve if loss is not None]
            if points and np.isfinite(points[0]):
                starts.append(float(points[0]))
    return starts


def _loss_axis(ax: Axes, values: list[np.ndarray]) -> None:
    """Log scale, cut at loss_ceiling so one blow-up does not flatten every curve."""
    finite = [v[np.isfinite(v) & (v > 0)] for v in values]
    ceiling = loss_ceiling(values)
    if ceiling is None or not any(len(v) for v in finite):
        return
    everything = np.concatenate(finite)
    low, high = everything.min() * 0.9, min(everything.max() * 1.1, ceiling)
    ax.set_yscale("log")
    high = max(high, low * 1.5)
    ax.set_ylim(low, high)
    # Plain numbers on the ticks: 1-2-5 steps while the axis spans under three decades (a span of 0.2 to 7 would
    # otherwise show the one label "1"), powers of ten above that; minor ticks labelled under one decade.
    if high / low < 1000:
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.yaxis.set_minor_formatter(FormatStrFormatter("%g") if high / low < 10 else NullFormatter())


def _linear_loss_axis(ax: Axes, values: list[np.ndarray], starts: list[float] | None = None) -> None:
    """From 0, cut at loss_ceiling (a ±std band on a log axis would dip below zero)."""
    finite = [v[np.isfinite(v)] for v in values]
    ceiling = loss_ceiling(values, starts)
    if ceiling is not None:
        ax.set_ylim(0, min(np.concatenate(finite).max(), ceiling) * 1.05)


def _mark_off_axis(ax: Axes, x: np.ndarray, mean: np.ndarray, curve: Curve) -> bool:
    """A ▲ on the top edge where a curve first leaves the axis upwards; whether there was one. None for a curve
    whose every run diverged: the × of its divergence says where it went."""
    above = np.flatnonzero(np.isfinite(mean) & (mean > ax.get_ylim()[1]))
    if not len(above) or all(run.diverged for run in curve.cell.runs):
        return False
    ax.plot([x[above[0]]], [ax.get_ylim()[1]], marker="^", markersize=8, color=curve.color, clip_on=False,
            linestyle="none", markeredgecolor="black", markeredgewidth=0.5)
    return True


def train_loss_figure(record: SweepRecord, choices: dict[str, Choice], styles: dict[str, Style]) -> Figure:
    plotted = plotted_curves(choices, styles)
    figure = Figure(figsize=(8 + 2.2 * ((len(plotted) - 1) // 16), 4.8), layout="constrained")
    ax = figure.add_subplot()
    drawn = []
    for curve in plotted:
        steps, matrix = loss_matrix(curve.cell)
        if len(steps):
            draw_band(ax, steps, matrix, curve, "minmax")
            drawn.append((steps, _nan_stats(matrix)[0], curve))
    if drawn:
        _loss_axis(ax, [mean for _, mean, _ in drawn])
        off = [_mark_off_axis(ax, steps, mean, curve) for steps, mean, curve in drawn]
        _mark_divergence(ax, choices, styles)
        handles, labels = ax.get_legend_handles_labels()
        if any(off):
            handles.append(Line2D([], [], marker="^", color="0.5", markeredgecolor="black", linestyle="none"))
            labels.append("leaves the axis here")
        _legend(figure, handles, labels)
    else:
        _message(ax, "no training loss recorded")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set(xlabel="step", ylabel="training loss (log)",
           title=_title("Training loss", choices, "min–max"))
    ax.title.set_fontsize(10)
    ax.grid(alpha=0.3)
    return figure


def _mark_divergence(ax: Axes, choices: dict[str, Choice], styles: dict[str, Style]) -> None:
    """An × on the top edge at the step where each plotted diverged run blew up."""
    top = ax.get_ylim()[1]
    marked = False
    for curve in plotted_curves(choices, styles):
        for run in curve.cell.runs:
            if run.diverged and run.diverged_step is not None:
                ax.plot([run.diverged_step], [top], marker="x", markersize=9, color=curve.color, clip_on=False,
                        linestyle="none", label=None if marked else "diverged at this step")
                marked = True


def _target_line(ax: Axes, record: SweepRecord) -> None:
    ax.axhline(100 * record.target_acc, color="0.3", linestyle="--", linewidth=1,
               label=f"target {100 * record.target_acc:g}%")


def val_acc_figure(record: SweepRecord, choices: dict[str, Choice], styles: dict[str, Style]) -> Figure:
    figure = Figure(figsize=(11, 4.5 + 0.16 * len(choices)), layout="constrained")
    by_epoch, by_time = figure.subplots(1, 2)
    epochs = np.arange(1, record.max_epochs + 1)
    for curve in plotted_curves(choices, styles):
        val = 100 * epoch_matrix(curve.cell, "val_acc", record.max_epochs)
        draw_band(by_epoch, epochs, val, curve, "minmax")
        seconds = _nan_stats(epoch_matrix(curve.cell, "train_seconds", record.max_epochs))[0]
        draw_band(by_time, seconds, val, curve, "minmax")
    _epoch_axis(by_epoch, record.max_epochs)
    for ax, xlabel in ((by_epoch, "epoch"), (by_time, "training seconds (validation time excluded)")):
        ax.set(xlabel=xlabel, ylabel="val accuracy (%)", ylim=(0, ACC_TOP))
        ax.grid(alpha=0.3)
        if record.has_validation:
            _target_line(ax, record)
        else:
            _message(ax, NO_VALIDATION)
    handles, labels = by_epoch.get_legend_handles_labels()
    _legend(figure, handles, labels, below=True)
    figure.suptitle(_title("Validation accuracy", choices, "min–max"), fontsize=10)
    return figure


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
            _message(ax, NO_VALIDATION if not record.has_validation else "every optimizer ran one lr")
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
    _legend(figure, *absolute.get_legend_handles_labels())
    left_out = len(choices) - len(searched)
    figure.suptitle("Learning-rate sensitivity (final val accuracy)"
                    + (f"; {left_out} optimizer{'s' if left_out > 1 else ''} with one lr left out" if left_out
                       else ""), fontsize=10)
    return figure


def divergence_epochs(plotted: list[Curve], epoch_steps: dict[int, int]) -> list[tuple[float, Curve]]:
    """(epoch, curve) for each plotted run that diverged: its divergence step in epochs (fractional), from the
    steps of a full epoch at its batch size (or its own first epoch's, when every run of that size diverged)."""
    marks = []
    for curve in plotted:
        for run in curve.cell.runs:
            if not run.diverged or run.diverged_step is None:
                continue
            steps = epoch_steps.get(run.effective_batch_size) or run.first_epoch_steps
            if steps:
                marks.append((run.diverged_step / steps, curve))
    return marks


def _mark_divergence_epochs(ax: Axes, marks: list[tuple[float, Curve]]) -> None:
    """An × on the top edge of a per-epoch loss panel where each diverged run blew up."""
    top = ax.get_ylim()[1]
    for epoch, curve in marks:
        ax.plot([epoch], [top], marker="x", markersize=9, markeredgewidth=2, color=curve.color, clip_on=False,
                linestyle="none")


def curves_figure(record: SweepRecord, choices: dict[str, Choice], styles: dict[str, Style]) -> Figure:
    """DeepOBS-style 2×2 panel: train and val loss and accuracy per epoch."""
    plotted = plotted_curves(choices, styles)
    figure = Figure(figsize=(11, 8 + 0.16 * len(plotted)), layout="constrained")
    axes = figure.subplots(2, 2)
    panels = (("train_loss", "training loss (epoch mean)"), ("val_loss", "val loss"),
              ("train_acc", "training accuracy (%)"), ("val_acc", "val accuracy (%)"))
    epochs = np.arange(1, record.max_epochs + 1)
    diverged = divergence_epochs(plotted, steps_per_epoch(record.runs))
    # The scale from the first step's loss: an epoch mean or a first validation already reflects training, and a
    # 1-epoch look would cut off an optimizer still at its starting loss as if it had blown up.
    starts = first_step_losses(plotted)
    off = False
    for ax, (key, ylabel) in zip(axes.flat, panels):
        means, drawn = [], False
        for curve in plotted:
            matrix = epoch_matrix(curve.cell, key, record.max_epochs) * (100 if key.endswith("acc") else 1)
            drawn |= draw_band(ax, epochs, matrix, curve, "std")
            means.append(_nan_stats(matrix)[0])
        ax.set(xlabel="epoch", ylabel=ylabel)
        _epoch_axis(ax, record.max_epochs, min([1.0] + [epoch for epoch, _ in diverged]))
        ax.grid(alpha=0.3)
        if key.startswith("val") and not record.has_validation:
            _message(ax, NO_VALIDATION)
        elif not drawn:
            _message(ax, "no finite values (the runs diverged)")
        elif key.endswith("loss"):
            _linear_loss_axis(ax, means, starts)
            for mean, curve in zip(means, plotted):
                off |= _mark_off_axis(ax, epochs, mean, curve)
        else:
            ax.set_ylim(0, ACC_TOP)
        if key == "train_loss":
            _mark_divergence_epochs(ax, diverged)
        if key == "val_acc" and record.has_validation:
            _target_line(ax, record)
            ax.legend(handles=ax.get_lines()[-1:], fontsize=7)
    handles = [Line2D([], [], color=c.color, linestyle=c.linestyle, marker=c.marker or "o", markersize=3,
                      label=c.label) for c in plotted]
    if off:
        handles.append(Line2D([], [], marker="^", color="0.5", markeredgecolor="black", linestyle="none",
                              label="leaves the axis here (loss above 3× the first step's)"))
    if diverged:
        handles.append(Line2D([], [], marker="x", markersize=7, markeredgewidth=2, color="0.3", linestyle="none",
                              label="diverged here (training loss, top edge)"))
    _legend(figure, handles, below=True)
    figure.suptitle(_title("Per-epoch curves", choices, "±1 sample std"), fontsize=10)
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
        _message(ax, "fewer than 2 optimizers with a chosen lr: nothing to compare")
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


def save_figure(figure: Figure, path: Path) -> None:
    FigureCanvasAgg(figure)
    write_atomic(path, lambda handle: figure.savefig(handle, format="png", dpi=110))


def drawn_figures(record: SweepRecord, choices: dict[str, Choice]) -> list[str]:
    """The figures this sweep has something to show in: the lr-sensitivity one only where, on a validation split,
    some optimizer ran at least 2 lrs (one lr per optimizer would be a panel of 1.0s)."""
    return [key for key in FIGURES
            if key != "lr_sensitivity" or (record.has_validation and lr_searched(choices))]


def write_figures(record: SweepRecord, choices: dict[str, Choice], rows: list[PairRow]) -> dict[str, Path]:
    """Every figure there is something to show in, as a PNG in the sweep folder; returns their paths by name
    (rows: the pairwise table's, whose verdicts the pairwise figure marks). A figure left out is removed, so a
    report re-made after a change of grid never links to a stale one."""
    styles = choice_styles(choices)
    builders = {"train_loss": train_loss_figure, "val_acc": val_acc_figure,
                "lr_sensitivity": lr_sensitivity_figure, "curves": curves_figure,
                "pairwise": lambda record, choices, styles: pairwise_figure(record, choices, styles, rows)}
    drawn = drawn_figures(record, choices)
    paths = {}
    for key, build in builders.items():
        path = record.sweep_dir / FIGURES[key]
        if key not in drawn:
            path.unlink(missing_ok=True)
            continue
        paths[key] = path
        save_figure(build(record, choices, styles), path)
    return paths

