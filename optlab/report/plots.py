"""The report's figures: which there is something to show in, each drawn into the sweep folder as a PNG.

The figures themselves are drawn in plot_curves.py and plot_comparisons.py, with the styles of plot_styles.py and
the parts of plot_parts.py; their names are importable from here too.
"""

from pathlib import Path

from optlab.report.pairwise import PairRow
from optlab.report.plot_comparisons import lr_searched, lr_sensitivity_figure, pairwise_figure
from optlab.report.plot_curves import curves_figure, train_loss_figure, val_acc_figure
from optlab.report.plot_parts import save_figure
from optlab.report.plot_styles import FAMILY_COLORMAPS, choice_styles, optimizer_styles
from optlab.report.selection import Choice
from optlab.report.sweep_record import SweepRecord

__all__ = ["FAMILY_COLORMAPS", "FIGURES", "choice_styles", "curves_figure", "drawn_figures", "lr_sensitivity_figure",
           "optimizer_styles", "pairwise_figure", "train_loss_figure", "val_acc_figure", "write_figures"]

FIGURES = {
    "train_loss": "fig_train_loss.png",
    "val_acc": "fig_val_acc.png",
    "lr_sensitivity": "fig_lr_sensitivity.png",
    "curves": "fig_curves.png",
    "pairwise": "fig_pairwise.png",
}


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
