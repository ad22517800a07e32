"""A sweep's report.md and figures, made from its saved files alone.

Nothing here needs the process that trained: the report can be re-made at any time, also for a folder whose
results/ were merged from several machines or shards. Figures are written first and report.md last, each file
atomically, so a report never links to a figure that is not there.
"""

import math
from pathlib import Path
from typing import Any

import yaml

from optlab.atomic import remove_abandoned_partials, write_text_atomic
from optlab.records.order import folder_name
from optlab.records.order import lr_text as run_lr_text
from optlab.records.run_result import RunResult
from optlab.report.claims import CONVERGENCE_RULE, Claim
from optlab.report.formatting import (
    DASH,
    confidence_text,
    count_text,
    interval_text,
    lr_text,
    mib,
    num_spread,
    pct,
    pct_spread,
    points_spread,
)
from optlab.report.health import loss_rise, rule_text
from optlab.report.plots import FIGURES, write_figures
from optlab.report.selection import Cell, Choice, choose_lrs, group_cells
from optlab.report.stats import FDR, FWER, MIN_SEEDS
from optlab.report.sweep_record import SweepRecord, load_sweep_record
from optlab.report.target import finest_lead_text, steps_per_epoch, target_time
from optlab.report.tuning import BUDGET_FIGURE, budget_lines, importance_lines, searched, write_budget_figure
from optlab.report.verdicts import ReportVerdicts, report_verdicts

REPORT_NAME = "report.md"
DATASETS = {"cifar10": "CIFAR-10", "imagefolder": "image folder", "synthetic": "synthetic (generated) images"}
FIGURE_CAPTIONS = {
    "train_loss": "Training loss per step",
    "val_acc": "Validation accuracy per epoch and per training second",
    "lr_sensitivity": "Learning-rate sensitivity",
    "curves": "Per-epoch training and validation curves (DeepOBS-style)",
    "pairwise": "Paired test-accuracy differences between optimizers",
}
SUMMARY_HEADER = ("optimizer", "chosen lr", "seeds", "val acc", "test acc", "steps to target", "seconds to target",
                  "reached target", "images/s", "optimizer state", "peak memory", "gen. gap", "loss spikes/run",
                  "diverged")


def markdown_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    def line(cells: tuple[str, ...]) -> str:
        return "| " + " | ".join(str(cell).replace("|", "\\|") for cell in cells) + " |"

    return [line(header), "|" + "|".join("---" for _ in header) + "|", *(line(row) for row in rows)]


def _peak_kind(runs: list[RunResult]) -> str:
    kinds = {run.run_peak_memory_kind for run in runs}
    names = {"cuda_max_allocated": "GPU max allocated", "process_rss": "process RSS",
             "rss_over_run_start": "RSS growth over the run's start"}
    return names.get(kinds.pop(), "") if len(kinds) == 1 else "mixed kinds"


def recorded_val_size(record: SweepRecord) -> int | None:
    """How many train images the runs held out, as the first run's hparams.yaml that says so records it (the
    datamodule's resolved size); None for folders without those files (merged results/ only, or older runs)."""
    for run in record.runs:
        # The run's folder as the runner names it: lr<lr>_seed<seed> for a grid cell, trial<n>_seed<seed> for a
        # search trial.
        configuration = f"trial{run.trial}" if run.trial is not None else f"lr{run_lr_text(run.lr)}"
        folder = record.sweep_dir / folder_name(run.optimizer) / f"{configuration}_seed{run.seed}"
        try:
            size = yaml.safe_load((folder / "hparams.yaml").read_text()).get("val_size")
        except (OSError, ValueError, yaml.YAMLError, AttributeError):
            continue
        if isinstance(size, int) and not isinstance(size, bool):
            return size
    return None


def validation_text(protocol: dict[str, Any], held_out: int | None = None) -> str:
    """The validation split as used: held_out is the number the runs recorded, when they did."""
    size = protocol.get("val_size")
    if size == 0 or (size is None and held_out == 0):
        return "none"
    if size is not None:
        return f"{size:,} train images held out"
    if held_out is not None:
        return f"{held_out:,} train images held out (the default)"
    if protocol.get("dataset_source") == "synthetic" and protocol.get("synthetic_size"):
        return f"{min(5000, protocol['synthetic_size'] // 10):,} train images held out (the default tenth)"
    if protocol.get("dataset_source") == "cifar10":
        return "5,000 of the 50,000 train images held out (the default)"
    return "the default hold-out (5,000 train images, or a tenth of a smaller set)"


def _training_extras(protocol: dict[str, Any]) -> str:
    extras = []
    if protocol.get("warmup_epochs"):
        extras.append(f"warmup {count_text(protocol['warmup_epochs'], 'epoch')}")
    if protocol.get("limit_train_batches") is not None:
        extras.append(f"train batches per epoch limited to {protocol['limit_train_batches']:g}")
    if protocol.get("limit_eval_batches") is not None:
        batches = count_text(protocol["limit_eval_batches"], "batch", "batches")
        extras.append(f"validation, train-subset and test accuracy on {batches} each (a quick look: not comparable "
                      "with full evaluations)")
    if protocol.get("channels_last"):
        extras.append("channels-last layout")
    return "".join(f"; {extra}" for extra in extras)


def setup_lines(record: SweepRecord) -> list[str]:
    p, runs = record.protocol, record.runs
    source = DATASETS.get(p.get("dataset_source"), p.get("dataset_source") or "unknown data")
    if p.get("dataset_source") == "synthetic":
        source += f", {p.get('synthetic_size') or 0:,} train images"
    val = validation_text(p, recorded_val_size(record))
    effective = sorted({str(run.effective_batch_size) for run in runs})
    devices = sorted({f"{run.accelerator} ×{run.world_size}" for run in runs})
    kwargs = ", ".join(f"{k}={v}" for k, v in (p.get("optimizer_kwargs") or {}).items()) or "registry defaults"
    l2 = f", L2 term {p['l2']:g} on the weights" if p.get("l2") else ""
    return [
        f"- **Problem**: {p.get('problem', 'seed_cnn')}{l2}.",
        f"- **Data**: {source}; validation split: {val}; augmentation: {'on' if p.get('augment') else 'off'}.",
        f"- **Training**: {count_text(record.max_epochs, 'epoch')}, batch {p.get('batch_size')} per device (effective "
        f"{', '.join(effective)}), precision {p.get('precision')}, schedule {p.get('schedule')}, "
        f"optimizer arguments: {kwargs}{_training_extras(p)}.",
        *tuning_setup(record),
        f"- **Target**: {100 * record.target_acc:g}% val accuracy (time-to-target).",
        f"- **Devices**: {', '.join(devices)}.",
    ]


def tuning_setup(record: SweepRecord) -> list[str]:
    """The grid, or the search: its sampler, budget, tuning and confirmation seeds."""
    config = record.config
    search = config.get("search") or "grid"
    tuned = sorted({run.seed for run in record.runs if run.stage != "confirm"})
    confirmed = sorted({run.seed for run in record.runs if run.stage == "confirm"})
    confirming = f"; confirmation seeds {', '.join(map(str, confirmed))}" if confirmed else ""
    if search == "grid":
        return [f"- **Grid**: optimizers {', '.join(record.optimizers)}; lrs {', '.join(map(lr_text, record.lrs))}; "
                f"seeds {', '.join(map(str, tuned))}{confirming}."]
    sampler = {"random": "random search", "qmc": "quasi-random search (scrambled Sobol)", "tpe": "TPE"}[search]
    return [f"- **Search**: {sampler} (sampler seed {config.get('search_seed', 0)}), {config.get('trials')} trials "
            f"for every optimizer (optimizers {', '.join(record.optimizers)}); each trial at tuning seed"
            f"{'s' if len(tuned) > 1 else ''} {', '.join(map(str, tuned))}{confirming}. Spaces: README, "
            "\"Search spaces\"" + (f"; overridden: {', '.join(config['search_space'])}"
                                    if config.get("search_space") else "") + "."]


def verdict_basis(choices: dict[str, Choice]) -> str:
    """One line saying which runs every verdict below rests on."""
    kinds = sorted({choice.judged_on for choice in choices.values() if choice.chosen is not None and choice.judged_on})
    if not kinds:
        return "- **Verdicts rest on**: nothing yet (no optimizer has runs that chose nothing)."
    if kinds == ["confirmation runs"]:
        return ("- **Verdicts rest on** the confirmation runs alone: each optimizer's configuration chosen on "
                "validation of its tuning runs, re-run on seeds that chose nothing.")
    if all(kind.startswith("held-out seeds") for kind in kinds):
        return (f"- **Verdicts rest on** {kinds[0]}: the lrs were chosen on the sweep's other seeds (validation only), "
                "so no verdict uses a seed that chose (with confirmation runs, --confirm-seeds, every seed of the "
                "grid chooses).")
    if kinds == ["every seed"]:
        return "- **Verdicts rest on** every seed: each optimizer ran one lr, so nothing was chosen."
    return f"- **Verdicts rest on**: {'; '.join(kinds)}."


def completeness_lines(record: SweepRecord) -> list[str]:
    planned = len(record.runs) - len(record.extra) + len(record.missing)
    lines = [f"- {len(record.runs) - len(record.extra)} of {planned} planned runs have results."]
    if record.missing:
        lines.append(f"- **Missing** (planned in sweep.json, no result yet: other shards, failed or not run): "
                     f"{', '.join(record.missing)}.")
    if record.extra:
        lines.append(f"- Also included, from earlier invocations with the same protocol: {', '.join(record.extra)}.")
    if record.unreadable:
        lines.append(f"- **Unreadable result files, left out**: {', '.join(record.unreadable)}.")
    counts = {len(cell.runs) for cells in group_cells([run for run in record.runs if run.stage != "confirm"]).values()
              for cell in cells}
    if len(counts) > 1:
        lines.append("- Not every optimizer × lr has the same number of seeds; the `seeds` columns say how many "
                     "each mean is over.")
    if len({run.world_size for run in record.runs}) > 1:
        lines.append("- **Mixed world sizes** (runs made on different numbers of devices, so different effective "
                     "batches): this folder predates the check that refuses it; compare within one world size only.")
    if len({(run.accelerator, run.world_size) for run in record.runs}) > 1:
        lines.append("- Runs were made on different devices: seconds, images/s and memory compare only within one.")
    concurrency = sorted({str(run.concurrent_runs) for run in record.runs if run.recorded("concurrent_runs")})
    if len(concurrency) > 1:
        lines.append(f"- Runs shared their device with different numbers of concurrent runs "
                     f"({', '.join(concurrency)}): timings (seconds, images/s) are compared only between runs made "
                     "under the same number.")
    if len(record.seeds) < 3 and len(record.optimizers) > 1:
        lines.append(f"- **{len(record.seeds)} seed{'s' if len(record.seeds) > 1 else ''}**: every paired "
                     "comparison needs at least 3 seeds, so no verdict below is more than inconclusive.")
    resumed = [run.run_id for run in record.runs if run.resumed]
    if resumed:
        lines.append(f"- Resumed from a checkpoint (timings add up both parts): {', '.join(resumed)}.")
    if not record.has_validation:
        lines.append("- **No validation split**: no lr is chosen (the test set never chooses); every lr is reported.")
    return lines


def unfinished_line(record: SweepRecord, shown: int = 12) -> str | None:
    """One console line naming the planned runs without a result (None when every one has one)."""
    if not record.missing:
        return None
    planned = len(record.runs) - len(record.extra) + len(record.missing)
    names = ", ".join(record.missing[:shown])
    if len(record.missing) > shown:
        names += f" and {len(record.missing) - shown} more (all in the report's Setup)"
    verb = "has" if len(record.missing) == 1 else "have"
    return (f"unfinished: {len(record.missing)} of {planned} planned runs {verb} no result yet: {names}; the "
            "sweep's own command trains them (other shards, failed or not yet run)")


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


LONG_PAIRWISE = 45  # pairs of 10 optimizers: beyond, the table lists only the clear ones


def family_text(verdicts: ReportVerdicts) -> str:
    """What the report controls, in one sentence with its numbers."""
    correction = verdicts.correction
    if not correction.tested:
        return f"No comparison of this report can be judged (each needs at least {MIN_SEEDS} paired seeds)."
    pairs = sum(row.adjusted_p is not None for row in verdicts.rows)
    others = correction.tested - pairs
    if correction.control == FDR:
        controlled = ("the expected share of false verdicts among those it calls clear (false discovery rate) at "
                      f"{100 * correction.level:g}%, by Benjamini–Hochberg's procedure")
    else:
        controlled = (f"the chance of any false verdict in the whole report (family-wise error) at "
                      f"{100 * correction.level:g}%, by Holm's step-down method")
    return (f"Every verdict of this report is one family of {correction.tested} comparisons ({pairs} pairs of "
            f"the pairwise table, {others} of the claims and Findings), corrected together: it controls "
            f"{controlled}. Intervals are shown at {confidence_text(correction.confidence())}, the level that "
            "correction matches (a comparison picked by the data from k candidates, k times closer to 100%): an "
            "interval excludes 0 exactly when its verdict is clear.")


def pairwise_lines(verdicts: ReportVerdicts) -> list[str]:
    rows = verdicts.rows
    if not rows:
        return ["Fewer than two optimizers have a chosen lr: nothing to compare."]
    procedure = verdicts.correction.procedure
    intro = (f"Every pair of optimizers at their chosen lrs. {family_text(verdicts)} {verdicts.power.text()}")
    # Rows that could not be judged (too few paired seeds) are counted, not listed: one seed makes them all so.
    judged = [row for row in rows if row.pairs.enough]
    notes = []
    if len(judged) < len(rows):
        notes.append(f"{len(rows) - len(judged)} of {len(rows)} pair{'s' if len(rows) > 1 else ''} inconclusive: "
                     f"each needs at least {MIN_SEEDS} paired seeds (this sweep has "
                     f"{max(row.pairs.n for row in rows)}).")
    if len(judged) > LONG_PAIRWISE:  # a long comparison lists its clear pairs and counts the rest
        hidden = sum(not row.clear for row in judged)
        judged = [row for row in judged if row.clear]
        if hidden:
            notes.append(f"{hidden} pairs with no clear difference are not listed.")
    if verdicts.edges:
        notes.append("Chosen lr at the edge of its grid (a better lr may lie beyond, so the optimizer may not be "
                     f"tuned): {'; '.join(verdicts.edges.values())}.")
    header = ("A", "B", "Δ test acc, A − B (paired by seed)", "corrected interval", "A ahead in",
              f"{procedure} p", "verdict")
    table = [(f"{row.a.optimizer} (lr {lr_text(row.a.lr)})", f"{row.b.optimizer} (lr {lr_text(row.b.lr)})",
              DASH if row.pairs.mean is None else f"{100 * row.pairs.mean:+.1f} pts",
              interval_text(row.judged.interval, row.judged.confidence, 100) or DASH,
              f"{row.pairs.wins}/{row.pairs.n} seeds", DASH if row.adjusted_p is None else f"{row.adjusted_p:.3g}",
              row.verdict) for row in judged]
    lines = [intro, "", *markdown_table(header, table)] if table else [intro]
    return lines + (["", " ".join(notes)] if notes else [])


def claim_lines(claims: list[Claim], verdicts: ReportVerdicts | None = None) -> list[str]:
    family = ""
    if verdicts is not None:
        family = (f" That correction is {verdicts.correction.procedure}'s over the report's "
                  f"{verdicts.correction.tested} comparisons, intervals at "
                  f"{confidence_text(verdicts.correction.confidence())} (see the pairwise comparison).")
    lines = ["Each claim is judged on this sweep alone, at the lrs validation chose. Every comparison pairs runs by "
             "seed and counts only when it survives the report's correction over all its comparisons (the pairs "
             f"of the table included; a claim quoting a pair of the table shares its verdict).{family} With fewer "
             "than 3 paired seeds, a tie in every seed, or when the sweep lacks what the claim needs, the claim is "
             "inconclusive; a claim that would be decided while an optimizer it compares has its chosen lr at the "
             "edge of its grid is **not tuned** instead. Claim (d1) compares exact byte counts: no test, outside "
             "the family.", ""]
    for claim in claims:
        lines.append(f"- **({claim.key}) {claim.statement}** → **{claim.verdict}**")
        lines += [f"  - {finding.text}" for finding in claim.findings]
        if claim.missing:
            lines.append(f"  - missing: {'; '.join(claim.missing)}")
        lines.append(f"  - rule: {claim.rule}")
    return lines


def method_lines(record: SweepRecord, verdicts: ReportVerdicts | None = None) -> list[str]:
    correction = verdicts.correction if verdicts is not None else None
    if correction is not None and correction.control == FDR:
        procedure = ("Benjamini–Hochberg's procedure at 5% (`fdr`: the expected share of false verdicts among the "
                     "clear ones is at most 5%; with no true difference anywhere, the chance of any clear verdict is "
                     "at most 5% too), with the false-coverage-rate intervals of Benjamini & Yekutieli (2005) at "
                     "1 − R·5%/m (R clear of m)")
    else:
        procedure = ("Holm's step-down method at 5% (`fwer`: with no true difference anywhere, or any mix of true "
                     "and no differences, the chance that the report makes any false verdict is at most 5%), with "
                     "intervals at 1 − 5%/(m − R) (R clear of m: Bonferroni's simultaneous 95% intervals when "
                     "nothing is clear)")
    intervals = sorted({float(run.val_every or 1.0) for run in record.runs})
    every = " or ".join(f"{value:g}" for value in intervals)
    return [
        "- **lr selection**: for each optimizer, the lr whose runs have the highest mean *final* val accuracy over "
        "seeds (ties: the smaller lr). Final, not best-epoch, accuracy, because the test accuracy is measured on the "
        "final weights. A diverged run counts with its final val accuracy (measured after the blow-up), or 0 if it "
        "has none. Test metrics are only reported, never used to choose.",
        "- **mean ± std**: over seeds; std is the sample standard deviation (n − 1). With one seed no std is shown.",
        "- **paired comparisons** (claims, findings, the pairwise table): runs are paired by seed (same initial "
        "weights and data order for every optimizer of a seed), at each optimizer's chosen lr, two-sided paired "
        "t-test (scipy.stats). **One error rate per report**: every judged comparison of the report (each pair of "
        "the pairwise table, each comparison behind a claim, the Findings' fastest-against-next) is one family, "
        f"corrected together by {procedure}; so a comparison's interval excludes 0 exactly when it is called "
        "clear, and no interval printed beside a verdict is the unadjusted one. A pair picked by the data (the "
        "top two by test accuracy) is quoted with the table's verdict, which is corrected over every pair; the "
        "fastest against the next enters with its p multiplied by the number of pairs it was picked from. Fewer "
        "than 3 paired seeds: inconclusive. A tie in every seed is no evidence. Claim (d1) compares exact byte "
        "counts (no test, outside the family).",
        "- **power**: from the seed spread of the table's paired test-accuracy differences (root mean variance), "
        "the smallest true difference a two-sided paired t-test at 5%/m (the first step of the correction) finds "
        "with 80% power at the report's seeds (noncentral t, scipy.stats.nct).",
        "- **grid edges**: an optimizer whose chosen lr is the smallest or largest of its grid (or its only lr) "
        "may be better at an lr the grid did not reach; every verdict that uses it says so, and a claim that "
        "would be decided is marked not tuned.",
        f"- **time to target**: where the validation curve first crosses {100 * record.target_acc:g}%, interpolated "
        "linearly between the two validations around the crossing (the first validation itself when it already "
        f"reaches it), as steps and training seconds; validation runs every {every} epoch (`--val-every`). The "
        "curve between two checks is unseen, so the sd of paired step differences is floored at interval/√6"
        f"{finest_lead_text(record)}. A seed that never reaches the target is censored: the tables say in how many "
        "seeds each optimizer reached it and average a miss as the full budget "
        f"({count_text(record.max_epochs, 'epoch')} of steps; seconds at that run's own speed), as in DeepOBS; a "
        "comparison with a censored seed gets no interval and uses an exact paired sign-flip permutation test, "
        "whose p cannot go below 2/2ⁿ at n seeds (at least 6 seeds before one can be decided at 5%).",
        "- **images/s**: training images per second of training time (validation excluded); compared only between "
        "runs made on the same kind and number of devices, precision and number of concurrent runs on the device. "
        "**Optimizer state**: bytes of the optimizer's per-parameter buffers. **Peak memory**: the run's own peak: "
        "GPU max allocated (reset per run) on CUDA; on CPU the growth of the process's resident memory over a "
        "baseline taken at the run's start, after a warm-up step and after returning freed memory to the OS (the "
        "same run measures the same wherever it falls in a sweep). Results made before that field show the "
        "process's resident memory, which includes the data and grows over a sweep.",
        "- **gen. gap**: training accuracy minus test accuracy of the final weights, in percentage points; the "
        "training accuracy is measured after training on a fixed random subset of up to 5,000 training images, "
        "without augmentation and under the Trainer's precision, exactly as test accuracy is. **Loss spikes**: "
        "steps whose loss exceeds twice the mean of the 50 steps before. **Loss rose** (a run's status, and a "
        f"finding): {rule_text()}; a short run can climb like that without a spike or reaching the divergence limit.",
        f"- **converges faster** (claims a, b): {CONVERGENCE_RULE}.",
    ]


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
