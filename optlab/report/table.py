"""The plain-text table a sweep ends with, one row per run."""

from collections.abc import Sequence

from optlab.records.run_result import RunResult
from optlab.report.selection import selection_score


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def results_table(results: Sequence[RunResult]) -> str:
    """optimizer, lr, seed, final val acc, test acc, best val acc, epochs, train seconds, diverged; best first by
    final val accuracy, the score the report chooses lrs by (the test set ranks nothing)."""
    header = ("optimizer", "lr", "seed", "final val acc", "test acc", "best val acc", "epochs", "train s", "diverged")
    rows = [header]

    def rank(r: RunResult) -> tuple:
        score = selection_score(r)
        return (score is None, -(score or 0.0), r.optimizer, r.lr, r.seed)

    for r in sorted(results, key=rank):
        diverged = f"yes (step {r.diverged_step})" if r.diverged else "no"
        rows.append((r.optimizer, f"{r.lr:g}", str(r.seed), _pct(r.final_val_acc), _pct(r.test_acc),
                     _pct(r.best_val_acc), str(r.epochs_run), f"{r.train_seconds:.1f}", diverged))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
