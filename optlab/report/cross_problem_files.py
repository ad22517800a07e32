"""The cross-problem summary's files: `summary.md`, `cross_problem.json` and the critical-difference figure, written
from the numbers cross_problem.py computes and the text cross_problem_text.py renders."""

import json
from pathlib import Path

from optlab.atomic import write_text_atomic
from optlab.report.cd_figure import write_cd_figure
from optlab.report.cross_problem import cross_problem_summary
from optlab.report.cross_problem_text import render_summary

SUMMARY_NAME = "summary.md"
SUMMARY_JSON = "cross_problem.json"
CD_FIGURE = "fig_critical_difference.png"


def find_problem_folders(parent: Path) -> list[str]:
    """Sub-folders of a multi-problem sweep that hold a sweep (a sweep.json), in name order."""
    return sorted(path.parent.name for path in Path(parent).glob("*/sweep.json"))


def write_cross_problem_summary(parent: Path, problems: list[str] | None = None) -> Path:
    """Write <parent>/summary.md and <parent>/cross_problem.json; returns the summary's path."""
    parent = Path(parent)
    summary = cross_problem_summary(parent, problems or find_problem_folders(parent))
    write_text_atomic(parent / SUMMARY_JSON, json.dumps(summary, indent=1, allow_nan=True))
    figure = None
    if summary["across"]["critical_difference"] is not None:
        write_cd_figure(parent / CD_FIGURE, summary)
        figure = CD_FIGURE
    path = parent / SUMMARY_NAME
    write_text_atomic(path, render_summary(summary, figure))
    return path
