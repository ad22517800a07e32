"""The report's tables of numbers: the summary at each chosen configuration, every optimizer × lr, every run."""

import math

from optlab.records.run_result import RunResult
from optlab.report.formatting import (
    DASH,
    lr_text,
    markdown_table,
    mib,
    num_spread,
    pct,
    pct_spread,
    points_spread,
)
from optlab.report.health import loss_rise
from optlab.report.selection import Cell, Choice
from optlab.report.sweep_record import SweepRecord
from optlab.report.target import steps_per_epoch, target_time

SUMMARY_HEADER = ("optimizer", "chosen lr", "seeds", "val acc", "test acc", "steps to target", "seconds to target",
                  "reached target", "images/s", "optimizer state", "peak memory", "gen. gap", "loss spikes/run",
                  "diverged")


def _peak_kind(runs: list[RunResult]) -> str:
    kinds = {run.run_peak_memory_kind for run in runs}
    names = {"cuda_max_allocated": "GPU max allocated", "process_rss": "process RSS",
             "rss_over_run_start": "RSS growth over the run's start"}
    return names.get(kinds.pop(), "") if len(kinds) == 1 else "mixed kinds"


def summary_row(record: SweepRecord, choice: Choice, epoch_steps: dict[int, int]) -> tuple[str, ...]:
    cell = choice.chosen
    if cell is None:
        return (choice.optimizer, f"none ({choice.reason})", *([DASH] * (len(SUMMARY_HEADER) - 2)))
    reached = target_time(cell.runs, record.max_epochs, epoch_steps) if record.has_validation else None
    val = pct_spread(cell.val) if record.has_validation else DASH
    configuration = lr_text(cell.lr) + (f" (trial {cell.trial})" if cell.trial is not None else "")
    return (
        choice.optimizer, configuration, str(len(cell.runs)), val,
        pct_spread(cell.metric("test_acc")),
        num_spread(reached.steps) if reached else DASH,
        num_spread(reached.seconds, 1) if reached else DASH,
        f"{reached.reached}/{reached.runs}" if reached else DASH,
        num_spread(cell.metric("images_per_second")),
        mib(cell.metric("optimizer_state_bytes").mean),
        mib(cell.metric("run_peak_memory_bytes").mean),
        points_spread(cell.metric("generalization_gap")),
        num_spread(cell.metric("loss_spikes"), 1),
        f"{cell.diverged}/{len(cell.runs)}",
    )


def summary_lines(record: SweepRecord, choices: dict[str, Choice]) -> list[str]:
    epoch_steps = steps_per_epoch(record.runs)
    header = tuple(f"peak memory ({_peak_kind(record.runs)})" if h == "peak memory" else h for h in SUMMARY_HEADER)
    rows = [summary_row(record, choice, epoch_steps) for choice in choices.values()]
    if record.has_validation:
        caption = ("Each optimizer at the configuration with the best mean final val accuracy over the seeds that "
                   "choose (the test set chooses nothing), measured on the runs that chose nothing (see Verdicts "
                   "rest on, above). Values are mean ± sample std over those seeds; time to target counts a seed "
                   "that missed as the full budget.")
    else:
        caption = ("No validation split: an optimizer run at one lr is shown at it; one run at several lrs has no "
                   "chosen lr (every lr is in the table further down). Values are mean ± sample std over seeds.")
    return [
        caption,
        "",
        *markdown_table(header, rows),
    ]


def cell_row(record: SweepRecord, cell: Cell, chosen: bool, epoch_steps: dict[int, int]) -> tuple[str, ...]:
    reached = target_time(cell.runs, record.max_epochs, epoch_steps) if record.has_validation else None
    return (
        cell.optimizer, lr_text(cell.lr) + (f" (trial {cell.trial})" if cell.trial is not None else ""),
        str(len(cell.runs)), pct_spread(cell.val) if record.has_validation else DASH,
        pct_spread(cell.metric("best_val_acc")), pct_spread(cell.metric("test_acc")),
        num_spread(cell.metric("final_train_loss"), 3),
        f"{num_spread(reached.steps)} ({reached.reached}/{reached.runs})" if reached else DASH,
        f"{cell.diverged}/{len(cell.runs)}", "✓" if chosen else "",
    )


def cell_lines(record: SweepRecord, choices: dict[str, Choice]) -> list[str]:
    epoch_steps = steps_per_epoch(record.runs)
    header = ("optimizer", "lr", "seeds", "final val acc", "best val acc", "test acc", "final train loss",
              "steps to target (reached)", "diverged", "chosen")
    rows = [cell_row(record, cell, cell is choice.selected, epoch_steps)
            for choice in choices.values() for cell in choice.cells]
    return markdown_table(header, rows)


def _target_text(run: RunResult) -> str:
    reached = run.time_to_target
    if reached is None:
        return "not reached" if run.final_val_acc is not None else DASH
    return f"epoch {reached.epoch}, step {reached.step}, {reached.seconds:.1f} s"


def run_lines(record: SweepRecord) -> list[str]:
    header = ("run", "status", "epochs", "steps", "final val acc", "best val acc (epoch)", "test acc",
              "final train loss", "target reached at", "images/s", "optimizer state", "peak memory", "loss spikes",
              "gen. gap", "resumed")
    rows = []
    for run in record.runs:
        status = f"diverged at step {run.diverged_step}" if run.diverged else run.status
        status += ", loss rose" if loss_rise(run) else ""
        best = f"{pct(run.best_val_acc)} ({run.best_val_epoch})" if run.best_val_acc is not None else DASH
        loss = run.final_train_loss
        loss_text = DASH if loss is None else f"{loss:.3f}" if math.isfinite(loss) else "non-finite"
        rows.append((
            run.run_id, status, str(run.epochs_run), str(run.steps), pct(run.final_val_acc),
            best, pct(run.test_acc), loss_text, _target_text(run),
            DASH if run.images_per_second is None else f"{run.images_per_second:.0f}",
            mib(run.optimizer_state_bytes), mib(run.run_peak_memory_bytes), str(run.loss_spikes),
            DASH if run.generalization_gap is None else f"{100 * run.generalization_gap:+.1f} pts",
            "yes" if run.resumed else "no",
        ))
    return markdown_table(header, rows)
