"""What every figure of a report draws with: the curves at the chosen lrs, bands over seeds, axes, legends.

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
from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter

from optlab.atomic import write_atomic
from optlab.report.formatting import lr_text
from optlab.report.plot_styles import Style
from optlab.report.selection import Cell, Choice

NO_VALIDATION = "no validation split in this sweep"
ACC_TOP = 102  # a little above 100% so curves that reach it stay visible
LR_MARKERS = ("o", "s", "^", "v", "D", "P")


@dataclass(frozen=True)
class Curve:
    """One line of a figure: a cell over its seeds, how it is labelled and drawn."""

    cell: Cell
    label: str
    color: tuple
    linestyle: str = "-"
    marker: str | None = None  # tells apart the lrs of one optimizer where every lr is drawn


def plotted_cells(choices: dict[str, Choice]) -> dict[str, list[Cell]]:
    """The chosen lr of each optimizer, or every lr where none was chosen."""
    return {name: [choice.chosen] if choice.chosen is not None else list(choice.cells)
            for name, choice in choices.items()}


def common_seeds(choices: dict[str, Choice]) -> int | None:
    """The number of seeds behind every plotted curve, when it is the same for all (then said once, in the title,
    rather than in each legend entry)."""
    counts = {len(cell.runs) for cells in plotted_cells(choices).values() for cell in cells}
    return counts.pop() if len(counts) == 1 else None


def plotted_curves(choices: dict[str, Choice], styles: dict[str, Style]) -> list[Curve]:
    """The chosen lr of each optimizer, or every lr (one marker each) where none was chosen."""
    curves = []
    same = common_seeds(choices)
    for name, cells in plotted_cells(choices).items():
        for index, cell in enumerate(cells):
            notes = [] if same else [f"{len(cell.runs)} seed{'s' if len(cell.runs) > 1 else ''}"]
            notes += [f"{cell.diverged} diverged"] if cell.diverged else []
            marker = LR_MARKERS[index % len(LR_MARKERS)] if len(cells) > 1 else None
            label = f"{name} lr={lr_text(cell.lr)}" + (f" ({', '.join(notes)})" if notes else "")
            curves.append(Curve(cell, label, styles[name].color, styles[name].linestyle, marker))
    return curves


def legend(figure: Figure, handles: list, labels: list[str] | None = None, below: bool = False) -> None:
    """The figure's legend outside its axes: to the right (one column per 16 entries), or below."""
    if not handles:
        return
    labels = labels if labels is not None else [handle.get_label() for handle in handles]
    if below:
        figure.legend(handles, labels, loc="outside lower center", ncols=min(len(handles), 4), fontsize=7)
    else:
        figure.legend(handles, labels, loc="outside right upper", ncols=-(-len(handles) // 16), fontsize=7)


def figure_title(what: str, choices: dict[str, Choice], band: str) -> str:
    where = "each optimizer's chosen lr"
    if any(choice.chosen is None for choice in choices.values()):
        where += " (every lr where none is chosen)"
    seeds = common_seeds(choices)
    if seeds == 1:
        return f"{what} at {where}\none seed each (no band)"
    over = f"{seeds} seeds" if seeds else "seeds"
    return f"{what} at {where}\nline: mean over {over}, band: {band} over seeds"


def nan_stats(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
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
    mean, std, low, high = nan_stats(matrix)
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


def epoch_axis(ax: Axes, epochs: int, first: float = 1.0) -> None:
    """Whole epochs only: a 1-epoch look would otherwise get ticks at 0.8, 0.9, ... first: the leftmost point
    to show (a divergence before the first epoch's end)."""
    ax.set_xlim(min(0.75, first - 0.15), epochs + 0.25)
    if epochs <= 10:
        ax.set_xticks(np.arange(1, epochs + 1))
    else:
        ax.xaxis.get_major_locator().set_params(integer=True)


def message(ax: Axes, text: str) -> None:
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


def loss_axis(ax: Axes, values: list[np.ndarray]) -> None:
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


def linear_loss_axis(ax: Axes, values: list[np.ndarray], starts: list[float] | None = None) -> None:
    """From 0, cut at loss_ceiling (a ±std band on a log axis would dip below zero)."""
    finite = [v[np.isfinite(v)] for v in values]
    ceiling = loss_ceiling(values, starts)
    if ceiling is not None:
        ax.set_ylim(0, min(np.concatenate(finite).max(), ceiling) * 1.05)


def mark_off_axis(ax: Axes, x: np.ndarray, mean: np.ndarray, curve: Curve) -> bool:
    """A ▲ on the top edge where a curve first leaves the axis upwards; whether there was one. None for a curve
    whose every run diverged: the × of its divergence says where it went."""
    above = np.flatnonzero(np.isfinite(mean) & (mean > ax.get_ylim()[1]))
    if not len(above) or all(run.diverged for run in curve.cell.runs):
        return False
    ax.plot([x[above[0]]], [ax.get_ylim()[1]], marker="^", markersize=8, color=curve.color, clip_on=False,
            linestyle="none", markeredgecolor="black", markeredgewidth=0.5)
    return True


def save_figure(figure: Figure, path: Path) -> None:
    FigureCanvasAgg(figure)
    write_atomic(path, lambda handle: figure.savefig(handle, format="png", dpi=110))
