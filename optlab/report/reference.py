"""Published reference curves (DeepOBS's cifar10_3c3d baselines) overlaid on optlab's curves for the same problem.

The reference holds DeepOBS's per-epoch *test* accuracies; optlab evaluates the test set once, at the end, and
validates every epoch on 5,000 held-out training images. The overlay therefore draws optlab's per-epoch
validation accuracy (the same distribution as the test set, other images) beside DeepOBS's test accuracy,
and compares optlab's final test accuracy with DeepOBS's at the same epoch. A gap is flagged when it is larger
than the seed spread: the larger of the two sample stds, or DeepOBS's alone when optlab has one seed.
"""

import json
import math
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from optlab.atomic import write_text_atomic
from optlab.errors import OptlabError
from optlab.report.formatting import count_text, lr_text
from optlab.report.plot_parts import epoch_matrix, save_figure
from optlab.report.plot_styles import optimizer_colors
from optlab.report.selection import Cell, choose_lrs
from optlab.report.sweep_record import SweepRecord, load_sweep_record

REFERENCE_DIR = Path(__file__).resolve().parent / "references"
REFERENCES = {"deepobs_3c3d": "deepobs_cifar10_3c3d.json"}  # problem -> data file in references/
FIGURE_NAME = "fig_reference.png"
COMPARISON_NAME = "reference.md"


def load_reference(problem: str) -> dict[str, Any]:
    """The published curves for a problem, or one line naming the problems that have some."""
    if problem not in REFERENCES:
        raise OptlabError(f"no published reference curves for problem {problem!r}; references exist for: "
                          f"{', '.join(REFERENCES)}")
    return json.loads((REFERENCE_DIR / REFERENCES[problem]).read_text())


def reference_matrix(reference: dict[str, Any], optimizer: str) -> np.ndarray:
    """Seeds × epochs (column 0: before training) of the reference test accuracy; empty if none."""
    runs = reference["optimizers"].get(optimizer, {}).get("runs", [])
    return np.array([run["test_accuracies"] for run in runs], dtype=float).reshape(len(runs), -1)


@dataclass(frozen=True)
class Side:
    """One optimizer's curve from one sweep: its chosen cell and per-epoch validation accuracy over seeds."""

    record: SweepRecord
    cell: Cell

    @property
    def label(self) -> str:
        kwargs = self.record.protocol.get("optimizer_kwargs") or {}
        extra = "".join(f", {key}={value}" for key, value in kwargs.items())
        return f"{self.cell.optimizer} lr={lr_text(self.cell.lr)}{extra}"


def sweep_sides(records: list[SweepRecord], reference: dict[str, Any]) -> list[Side]:
    """Each sweep's chosen cell of every optimizer the reference has."""
    sides = []
    for record in records:
        for name, choice in choose_lrs(record.runs, record.optimizers).items():
            cell = choice.chosen or max(choice.cells, key=lambda c: c.val.mean if c.val.n else -1)
            if name in reference["optimizers"]:
                sides.append(Side(record, cell))
    return sides


def _stats(values: list[float]) -> tuple[float, float | None]:
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else None


def comparison_rows(side: Side, reference: dict[str, Any]) -> list[dict[str, Any]]:
    """Per epoch: optlab's val accuracy (and test accuracy at its last epoch) against DeepOBS's test accuracy."""
    published = reference_matrix(reference, side.cell.optimizer)
    epochs = side.record.max_epochs
    val = epoch_matrix(side.cell, "val_acc", epochs)
    rows = []
    for epoch in range(1, min(epochs, published.shape[1] - 1) + 1):
        ours = [v for v in val[:, epoch - 1] if math.isfinite(v)]
        if not ours:
            continue
        theirs = published[:, epoch].tolist()
        row = {"epoch": epoch, "metric": "val acc", "ours": _stats(ours), "theirs": _stats(theirs),
               "theirs_range": (min(theirs), max(theirs))}
        rows.append(row)
        finished = [run for run in side.cell.runs if run.epochs_run == epoch]
        if finished:
            rows.append({**row, "metric": "test acc", "ours": _stats([run.test_acc for run in finished])})
    for row in rows:
        spreads = [s for s in (row["ours"][1], row["theirs"][1]) if s is not None]
        row["gap"] = row["ours"][0] - row["theirs"][0]
        row["spread"] = max(spreads) if spreads else None
        row["beyond_spread"] = row["spread"] is not None and abs(row["gap"]) > row["spread"]
    return rows


def _pct(stats: tuple[float, float | None]) -> str:
    mean, std = stats
    return f"{100 * mean:.1f}%" + (f" ± {100 * std:.1f}" if std is not None else "")


def comparison_lines(sides: list[Side], reference: dict[str, Any], figure: str | None) -> list[str]:
    source = reference["source"]
    lines = [
        f"Published reference: DeepOBS `{reference['deepobs_testproblem']}` baselines ({source['repository']}, "
        f"commit {source['commit'][:12]}, `{source['folder']}`, MIT license), per-epoch **test** accuracy at "
        "their best lr, mean ± sample std over the seeds available (range in brackets). optlab's per-epoch "
        "figure is **validation** accuracy on held-out training images; its test accuracy is measured once, "
        "after the last epoch. ⚠: the gap is larger than the seed spread.", "",
    ]
    if figure:
        lines += [f"![optlab against DeepOBS's published curves]({figure})", ""]
    header = ("optimizer", "DeepOBS setting", "DeepOBS seeds", "epoch", "optlab", "DeepOBS test acc", "gap", "")
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for side in sides:
        published = reference["optimizers"][side.cell.optimizer]
        hyper = ", ".join(f"{k}={v}" for k, v in published["hyperparams"].items())
        setting = f"lr={lr_text(published['lr'])}" + (f", {hyper}" if hyper else "")
        for row in comparison_rows(side, reference):
            low, high = row["theirs_range"]
            lines.append(
                f"| {side.label} | {setting} | {len(published['runs'])} | {row['epoch']} | {row['metric']} "
                f"{_pct(row['ours'])} | {_pct(row['theirs'])} [{100 * low:.1f}–{100 * high:.1f}] | "
                f"{100 * row['gap']:+.1f} pts | {'⚠' if row['beyond_spread'] else ''} |")
    return lines


def reference_figure(sides: list[Side], reference: dict[str, Any]) -> Figure:
    """Left: optlab's epochs, close up; right: DeepOBS's whole budget with optlab's curve on it."""
    figure = Figure(figsize=(12, 4.5))
    FigureCanvasAgg(figure)
    close, whole = figure.subplots(1, 2)
    colors = optimizer_colors(list(reference["optimizers"]))
    epochs = max([side.record.max_epochs for side in sides] + [1])
    for ax, last in ((close, epochs), (whole, reference["num_epochs"])):
        for name in reference["optimizers"]:
            published = 100 * reference_matrix(reference, name)
            if not published.size or not any(side.cell.optimizer == name for side in sides):
                continue
            x = np.arange(published.shape[1])[1:last + 1]
            values = published[:, 1:last + 1]
            ax.plot(x, values.mean(axis=0), color=colors[name], linestyle="--",
                    label=f"DeepOBS {name} test ({len(published)} seeds)")
            ax.fill_between(x, values.min(axis=0), values.max(axis=0), color=colors[name], alpha=0.15, linewidth=0)
        for side in sides:
            val = 100 * epoch_matrix(side.cell, "val_acc", side.record.max_epochs)
            x = np.arange(1, val.shape[1] + 1)
            ax.plot(x, np.nanmean(val, axis=0), color=colors[side.cell.optimizer], marker="o", markersize=3,
                    label=f"optlab {side.label} val")
        ax.set_xlim(0.5, last + 0.5)
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy (%)")
        ax.grid(alpha=0.3)
    close.set_title(f"first {count_text(epochs, 'epoch')}")
    whole.set_title(f"DeepOBS's {reference['num_epochs']} epochs")
    close.legend(fontsize=7)
    figure.suptitle(f"optlab on {reference['problem']} against DeepOBS's published {reference['deepobs_testproblem']}"
                    " curves (dashed: DeepOBS mean, band: min–max over seeds)", fontsize=10)
    figure.tight_layout()
    return figure


def reference_section(record: SweepRecord) -> tuple[list[str], Path]:
    """The report's reference section for one sweep, and its figure (written into the sweep folder)."""
    problem = record.protocol.get("problem", "seed_cnn")
    reference = load_reference(problem)
    sides = sweep_sides([record], reference)
    if not sides:
        raise OptlabError(f"none of this sweep's optimizers ({', '.join(record.optimizers)}) has a published "
                          f"reference curve; the reference has: {', '.join(reference['optimizers'])}")
    path = record.sweep_dir / FIGURE_NAME
    save_figure(reference_figure(sides, reference), path)
    return comparison_lines(sides, reference, path.name), path


def write_reference_comparison(sweep_dirs: list[Path], out_dir: Path) -> Path:
    """One comparison (reference.md and its figure) over several sweeps of one problem, e.g. one per optimizer."""
    records = [load_sweep_record(Path(folder)) for folder in sweep_dirs]
    problems = {record.protocol.get("problem", "seed_cnn") for record in records}
    if len(problems) != 1:
        raise OptlabError(f"the sweeps compared with a reference must share one problem; got {', '.join(problems)}")
    reference = load_reference(problems.pop())
    sides = sweep_sides(records, reference)
    out_dir = Path(out_dir)
    figure = out_dir / FIGURE_NAME
    save_figure(reference_figure(sides, reference), figure)
    path = out_dir / COMPARISON_NAME
    title = f"# optlab against DeepOBS's published {reference['deepobs_testproblem']} curves"
    write_text_atomic(path, "\n".join([title, "", *comparison_lines(sides, reference, figure.name), ""]))
    return path
