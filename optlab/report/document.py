"""A sweep's report.md and figures, made from its saved files alone.

Nothing here needs the process that trained: the report can be re-made at any time, also for a folder whose
results/ were merged from several machines or shards. Figures are written first and report.md last, each file
atomically, so a report never links to a figure that is not there.
"""

from pathlib import Path

from optlab.atomic import remove_abandoned_partials, write_text_atomic
from optlab.report.plots import FIGURES, write_figures
from optlab.report.section_method import method_lines
from optlab.report.section_setup import (
    completeness_lines,
    recorded_val_size,
    setup_lines,
    unfinished_line,
    verdict_basis,
)
from optlab.report.section_tables import cell_lines, run_lines, summary_lines
from optlab.report.section_verdicts import claim_lines, pairwise_lines
from optlab.report.selection import Choice, choose_lrs
from optlab.report.stats import FWER
from optlab.report.sweep_record import SweepRecord, load_sweep_record
from optlab.report.tuning import BUDGET_FIGURE, budget_lines, importance_lines, searched, write_budget_figure
from optlab.report.verdicts import ReportVerdicts, report_verdicts

# The sections' own modules hold their lines; these are importable from here, where the report is made.
__all__ = ["REPORT_NAME", "method_lines", "pairwise_lines", "recorded_val_size", "render_report", "unfinished_line",
           "write_report"]

REPORT_NAME = "report.md"
FIGURE_CAPTIONS = {
    "train_loss": "Training loss per step",
    "val_acc": "Validation accuracy per epoch and per training second",
    "lr_sensitivity": "Learning-rate sensitivity",
    "curves": "Per-epoch training and validation curves (DeepOBS-style)",
    "pairwise": "Paired test-accuracy differences between optimizers",
}


def render_report(record: SweepRecord, choices: dict[str, Choice], verdicts: ReportVerdicts,
                  figures: dict[str, Path]) -> str:
    name = record.config.get("name") or record.sweep_dir.name
    lines = [f"# Optimizer comparison: {name}", "", "## Setup", "", *setup_lines(record), verdict_basis(choices),
             *completeness_lines(record), "", "## Summary", "", *summary_lines(record, choices), ""]
    if searched(record.runs):
        lines += ["## The answer at every tuning budget", "", *budget_lines(choices), ""]
        if BUDGET_FIGURE in figures:
            lines += [f"![Expected best validation accuracy against the tuning budget]({BUDGET_FIGURE})", ""]
        lines += ["## Which hyperparameters mattered", "", *importance_lines(choices, record.search_spaces), ""]
    lines += ["## Findings", ""]
    lines += [f"- {sentence}" for sentence in verdicts.findings]
    lines += ["", "## Pairwise comparison", "", *pairwise_lines(verdicts)]
    lines += ["", "## Claims", "", *claim_lines(verdicts.claims, verdicts), "", "## Figures", ""]
    for key, path in figures.items():
        if key in FIGURE_CAPTIONS:
            lines += [f"![{FIGURE_CAPTIONS[key]}]({path.name})", ""]
    lines += ["## Every optimizer × lr", "", *cell_lines(record, choices), "", "## Every run", "", *run_lines(record),
              "", "## How the numbers are computed", "", *method_lines(record, verdicts), ""]
    return "\n".join(lines)


def write_report(sweep_dir: Path, reference: bool = False, error_control: str = FWER) -> Path:
    """Write report.md and its figures into the sweep folder; returns the report's path.

    reference: also overlay the published curves of the sweep's problem (see report/reference.py). Hidden
    partial files a report killed mid-write left beside these files (`.fig_*.png.<pid>.tmp`, once over a minute
    old: see atomic.remove_abandoned_partials) are removed first. error_control: "fwer" (Holm, the default) or
    "fdr" (Benjamini–Hochberg), the correction over all the report's verdicts.
    """
    record = load_sweep_record(Path(sweep_dir))
    remove_abandoned_partials(record.sweep_dir, [REPORT_NAME, *FIGURES.values(), BUDGET_FIGURE])
    choices = choose_lrs(record.runs, record.optimizers)
    verdicts = report_verdicts(record, choices, error_control)
    figures = write_figures(record, choices, verdicts.rows)
    if searched(record.runs) and (budget := write_budget_figure(record.sweep_dir, choices)) is not None:
        figures[BUDGET_FIGURE] = budget
    text = render_report(record, choices, verdicts, figures)
    if reference:
        from optlab.report.reference import reference_section

        lines, _ = reference_section(record)
        text += "\n".join(["", "## Published reference", "", *lines, ""])
    path = record.sweep_dir / REPORT_NAME
    write_text_atomic(path, text)
    return path
