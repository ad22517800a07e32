"""Whether a chosen lr was tuned: one at the edge of its optimizer's grid (or of the lrs its search tried) may
only be the best of a range that stopped too soon, so a verdict resting on it compares an optimizer that may not
have been tuned."""

from optlab.report.formatting import lr_text
from optlab.report.selection import Choice


def grid_edge(choice: Choice) -> str | None:
    """Why the chosen lr is at the edge of the optimizer's grid (None: inside it, or nothing chosen)."""
    if choice.chosen is None:
        return None
    lrs = sorted(cell.lr for cell in choice.cells)
    lr = lr_text(choice.chosen.lr)
    tried = "the lrs its search tried" if choice.chosen.trial is not None else "its grid"
    if len(lrs) == 1:
        return f"{choice.optimizer} ran one lr only ({lr})"
    if choice.chosen.lr == lrs[0]:
        return f"{choice.optimizer}'s lr {lr} is the smallest of {tried}"
    if choice.chosen.lr == lrs[-1]:
        return f"{choice.optimizer}'s lr {lr} is the largest of {tried}"
    return None


def grid_edges(choices: dict[str, Choice]) -> dict[str, str]:
    """Every optimizer whose chosen lr is at its grid's edge, with the reason."""
    return {name: reason for name, choice in choices.items() if (reason := grid_edge(choice)) is not None}
