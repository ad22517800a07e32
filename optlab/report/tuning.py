"""Whether a chosen lr was tuned: one at the edge of its optimizer's grid may only be the best of a grid that
stopped too soon, so a verdict resting on it compares an optimizer that may not have been tuned."""

from optlab.report.formatting import lr_text
from optlab.report.selection import Choice


def grid_edge(choice: Choice) -> str | None:
    """Why the chosen lr is at the edge of the optimizer's grid (None: inside it, or nothing chosen)."""
    if choice.chosen is None:
        return None
    lrs = sorted(cell.lr for cell in choice.cells)
    lr = lr_text(choice.chosen.lr)
    if len(lrs) == 1:
        return f"{choice.optimizer} ran one lr only ({lr})"
    if choice.chosen.lr == lrs[0]:
        return f"{choice.optimizer}'s lr {lr} is the smallest of its grid"
    if choice.chosen.lr == lrs[-1]:
        return f"{choice.optimizer}'s lr {lr} is the largest of its grid"
    return None


def grid_edges(choices: dict[str, Choice]) -> dict[str, str]:
    """Every optimizer whose chosen lr is at its grid's edge, with the reason."""
    return {name: reason for name, choice in choices.items() if (reason := grid_edge(choice)) is not None}
