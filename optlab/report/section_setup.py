"""The report's Setup section: the problem, data, training and grid or search, and what the folder holds or lacks."""

from typing import Any

import yaml

from optlab.records.order import folder_name
from optlab.records.order import lr_text as run_lr_text
from optlab.report.formatting import (
    count_text,
    lr_text,
)
from optlab.report.selection import Choice, group_cells
from optlab.report.stats import MIN_SEEDS
from optlab.report.sweep_record import SweepRecord

DATASETS = {"cifar10": "CIFAR-10", "imagefolder": "image folder", "synthetic": "synthetic (generated) images"}


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
    """One line saying which runs every verdict below rests on, and on how few seeds at the least."""
    kinds = sorted({choice.judged_on for choice in choices.values() if choice.chosen is not None and choice.judged_on})
    if not kinds:
        return "- **Verdicts rest on**: nothing yet (no optimizer has runs that chose nothing)."
    seeds = min(len({run.seed for run in choice.chosen.runs}) for choice in choices.values() if choice.chosen)
    fewest = f" The fewest seeds an optimizer's verdicts rest on: {seeds}"
    fewest += (f" (a paired comparison needs at least {MIN_SEEDS}, so those verdicts are inconclusive)."
               if seeds < MIN_SEEDS else ".")
    return _basis(kinds) + fewest


def _basis(kinds: list[str]) -> str:
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
