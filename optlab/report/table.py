"""The plain-text table a sweep ends with, one row per run."""

from typing import Any


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def results_table(results: list[dict[str, Any]]) -> str:
    """optimizer, lr, seed, test acc, best val acc, epochs, train seconds, diverged."""
    header = ("optimizer", "lr", "seed", "test acc", "best val acc", "epochs", "train s", "diverged")
    rows = [header]
    for r in sorted(results, key=lambda r: (r["optimizer"], r["lr"], r["seed"])):
        diverged = f"yes (step {r['diverged_step']})" if r["diverged"] else "no"
        rows.append((r["optimizer"], f"{r['lr']:g}", str(r["seed"]), _pct(r["test_acc"]), _pct(r["best_val_acc"]),
                     str(r["epochs_run"]), f"{r['train_seconds']:.1f}", diverged))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
