"""The report's curve figures at each optimizer's chosen lr: training loss per step, validation accuracy, and
DeepOBS's per-epoch panel."""


import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from optlab.report.plot_parts import (
    ACC_TOP,
    NO_VALIDATION,
    Curve,
    draw_band,
    epoch_axis,
    epoch_matrix,
    figure_title,
    first_step_losses,
    legend,
    linear_loss_axis,
    loss_axis,
    loss_matrix,
    mark_off_axis,
    message,
    nan_stats,
    plotted_curves,
)
from optlab.report.plot_styles import Style
from optlab.report.selection import Choice
from optlab.report.sweep_record import SweepRecord
from optlab.report.target import steps_per_epoch


def train_loss_figure(record: SweepRecord, choices: dict[str, Choice], styles: dict[str, Style]) -> Figure:
    plotted = plotted_curves(choices, styles)
    figure = Figure(figsize=(8 + 2.2 * ((len(plotted) - 1) // 16), 4.8), layout="constrained")
    ax = figure.add_subplot()
    drawn = []
    for curve in plotted:
        steps, matrix = loss_matrix(curve.cell)
        if len(steps):
            draw_band(ax, steps, matrix, curve, "minmax")
            drawn.append((steps, nan_stats(matrix)[0], curve))
    if drawn:
        loss_axis(ax, [mean for _, mean, _ in drawn])
        off = [mark_off_axis(ax, steps, mean, curve) for steps, mean, curve in drawn]
        _mark_divergence(ax, choices, styles)
        handles, labels = ax.get_legend_handles_labels()
        if any(off):
            handles.append(Line2D([], [], marker="^", color="0.5", markeredgecolor="black", linestyle="none"))
            labels.append("leaves the axis here")
        legend(figure, handles, labels)
    else:
        message(ax, "no training loss recorded")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set(xlabel="step", ylabel="training loss (log)",
           title=figure_title("Training loss", choices, "min–max"))
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
        seconds = nan_stats(epoch_matrix(curve.cell, "train_seconds", record.max_epochs))[0]
        draw_band(by_time, seconds, val, curve, "minmax")
    epoch_axis(by_epoch, record.max_epochs)
    for ax, xlabel in ((by_epoch, "epoch"), (by_time, "training seconds (validation time excluded)")):
        ax.set(xlabel=xlabel, ylabel="val accuracy (%)", ylim=(0, ACC_TOP))
        ax.grid(alpha=0.3)
        if record.has_validation:
            _target_line(ax, record)
        else:
            message(ax, NO_VALIDATION)
    handles, labels = by_epoch.get_legend_handles_labels()
    legend(figure, handles, labels, below=True)
    figure.suptitle(figure_title("Validation accuracy", choices, "min–max"), fontsize=10)
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
            means.append(nan_stats(matrix)[0])
        ax.set(xlabel="epoch", ylabel=ylabel)
        epoch_axis(ax, record.max_epochs, min([1.0] + [epoch for epoch, _ in diverged]))
        ax.grid(alpha=0.3)
        if key.startswith("val") and not record.has_validation:
            message(ax, NO_VALIDATION)
        elif not drawn:
            message(ax, "no finite values (the runs diverged)")
        elif key.endswith("loss"):
            linear_loss_axis(ax, means, starts)
            for mean, curve in zip(means, plotted):
                off |= mark_off_axis(ax, epochs, mean, curve)
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
    legend(figure, handles, below=True)
    figure.suptitle(figure_title("Per-epoch curves", choices, "±1 sample std"), fontsize=10)
    return figure
