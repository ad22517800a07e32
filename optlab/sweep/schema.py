"""Every setting of a sweep, declared once: its type, default, help line and check.

scripts/sweep.py's flags (sweep/flags.py) and a sweep file's keys (sweep/sweep_file.py) are generated from these
fields, and SweepConfig.validate() runs each field's check: a field added here gets its flag, its key and its
check with no second declaration. A field's flag is `--` and its name with dashes (`max_epochs`: `--max-epochs`)
unless it says otherwise; its sweep-file key is its name (dashes accepted) and its flags' names.
"""

import copy
import dataclasses
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from optlab import checks
from optlab.data.sources import DATASETS
from optlab.optimizers.families import FAMILIES
from optlab.optimizers.registry import OPTIMIZERS
from optlab.problems import DEFAULT_PROBLEM, PROBLEMS
from optlab.schedules import SCHEDULES
from optlab.sweep.reading import count_or_auto, read_lrs
from optlab.sweep.run_claims import DEFAULT_STALE_AFTER

DEFAULT_OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "rmsprop")
# Validations per epoch a sweep that compares time to target needs: with the report's interval/√6 floor, one check
# an epoch never decides a one-epoch lead at 3 seeds; four do in 96% of simulated sweeps
# (tests/test_time_to_target.py), and finer checks add nothing there once the seeds' own spread dominates.
VAL_EVERY_FOR_TARGET = 0.25
CUDA_GRAPHS = ("auto", "on", "off")
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")  # torch.compile's
ERROR_CONTROLS = ("fwer", "fdr")  # report/stats.py: Holm, Benjamini-Hochberg
SEARCHES = ("grid", "random", "qmc", "tpe")  # grid: the lrs of --lrs; the others: an Optuna study per optimizer

# The help's sections, in order; each field names its own.
GROUPS = {
    "problem": "problem (its defaults fill every protocol flag left unset)",
    "grid": "grid",
    "tuning": "tuning (README: tune, then confirm)",
    "training": "training",
    "data": "data",
    "output": "output",
    "hardware": "hardware and scale-out (Lightning Trainer)",
}


def setting(group: str, default: Any, help: str, check: Any = None, *, choices: tuple[str, ...] = (),
            **form: Any) -> Any:
    """One field: default, help line, check (choices imply one). `form` may set: flag (its own name), aliases
    (more flags), metavar, set_by (no flag or key of its own: "sweep" sets it as it runs, "lrs" is --lrs'
    NAME=...), problem_default (None is the problem's value), flag_type (argparse's type=), nargs (a flag of
    several values where the type does not say it), read (a form of its own: text or YAML to {field: value}),
    default_text, nested (NAME: {KEY: VALUE} is NAME.KEY)."""
    metadata = {"group": group, "help": help, "check": check or checks.choice(choices), "choices": choices, **form}
    if isinstance(default, (list, dict)):
        return field(default_factory=partial(copy.deepcopy, default), metadata=metadata)
    return field(default=default, metadata=metadata)


_problem, _grid, _tuning, _training, _data, _output, _hardware = (partial(setting, group) for group in GROUPS)
_TEXT, _SWITCH, _SEEDS = checks.text, checks.boolean, checks.list_of(checks.seed)


@dataclass
class SweepSettings:
    """The settings of one sweep, as given: SweepConfig adds what a sweep does with them."""

    # The problem picks the network; its defaults fill batch_size, max_epochs, augment, target_acc and l2
    # where they are left None (an explicit value, e.g. from a flag, overrides the problem's).
    problem: str = _problem(DEFAULT_PROBLEM, "test problem(s): " + "; ".join(
        f"{name}: {spec.summary}" for name, spec in PROBLEMS.items()) + ". Several run one sweep each, in "
        "<log-dir>/<name>/<problem>, plus a cross-problem summary", _TEXT, metavar="NAME", nargs="+")
    l2: float | None = _problem(None, "L2 term l2/2·Σw² over weights (not biases) added to the loss",
                                checks.non_negative_number, problem_default=True)
    optimizers: list[str] = _grid(list(DEFAULT_OPTIMIZERS), f"optimizers to compare; choose from: "
                                  f"{', '.join(OPTIMIZERS)}; or a plug-in: pkg.module:Name or path/to/file.py:Name "
                                  "(README: plug-in optimizers)", checks.list_of(_TEXT), metavar="NAME")
    # "auto"/"default" until validate() resolves them; --lrs NAME=... fills optimizer_lrs (sweep/grid.py).
    lrs: list[float] | str = _grid([1e-3], "learning rate(s) for every optimizer; several make a grid, the best "
                                   "chosen on validation. auto: each optimizer's own default range (README); default: "
                                   "each one's default lr; NAME=LR,LR,...: that optimizer's own grid (prodigy's lr is "
                                   "a multiplier of its estimate)", checks.anything, aliases=("--lr",), metavar="LR",
                                   nargs="+", read=read_lrs)
    # Per-optimizer grids: optimizers named here use their own lrs, not `lrs`.
    optimizer_lrs: dict[str, Any] = _grid({}, "", checks.mapping_of(_TEXT, checks.anything), flag="--lrs",
                                          set_by="lrs")
    seeds: list[int] = _grid([0], "seed(s): same seed = same initial weights and data order for every optimizer",
                             _SEEDS, aliases=("--seed",), metavar="SEED")
    # Keys "KEY" go to every optimizer that takes KEY, "NAME.KEY" to optimizer NAME only; values are checked
    # against each optimizer by validate().
    optimizer_kwargs: dict[str, Any] = _grid({}, "extra optimizer arguments, e.g. weight_decay=5e-4 (every optimizer "
                                             "that takes it) adam.betas=0.9,0.99 (adam only)",
                                             checks.mapping_of(_TEXT, checks.anything), flag="--optimizer-args",
                                             metavar="KEY=VALUE", nested=True)
    families: dict[str, str] = _grid({}, f"declare a plug-in's family for the report: {', '.join(FAMILIES)}",
                                     checks.mapping_of(_TEXT, _TEXT), metavar="NAME=FAMILY")
    schedule: str = _grid("none", "learning-rate schedule (per step)", choices=SCHEDULES)
    warmup_epochs: float = _grid(0.0, "linear warmup length, in epochs", checks.non_negative_number)
    # Tuning: a grid over --lrs, or an Optuna study per optimizer with the same budget of trials for each.
    search: str = _tuning("grid", "grid: every lr of --lrs at every seed; random, qmc (Sobol, as AlgoPerf) or tpe: an "
                          "Optuna study per optimizer over its search space (README), the same --trials for each",
                          choices=SEARCHES)
    trials: int = _tuning(8, "a search's budget: trials per optimizer", checks.count)
    tune_seeds: list[int] | None = _tuning(None, "seeds each trial trains at, its score the mean final val accuracy "
                                           "over them (default: the first of --seeds)", checks.optional(_SEEDS),
                                           metavar="SEED")
    confirm_seeds: list[int] | None = _tuning(None, "fresh seeds (at least 3) that re-run each optimizer's best "
                                              "configuration; every verdict rests on them (default for a search: the "
                                              "3 seeds after the largest tuning seed; a grid without them judges on "
                                              "its last seeds, chosen on its first)", checks.optional(_SEEDS),
                                              metavar="SEED")
    search_space: list[str] = _tuning([], "replace one searched range, e.g. adam.lr=1e-4:1e-2:log",
                                      checks.list_of(_TEXT, minimum=0), metavar="NAME.PARAM=LOW:HIGH[:log]")
    search_seed: int = _tuning(0, "the sampler's seed: the same one proposes the same trials, on any machine",
                               checks.seed)
    storage: str | None = _tuning(None, "the studies' storage: default a journal file in the sweep folder; "
                                  "postgresql://... shares one study between machines (README: many machines)",
                                  checks.optional(_TEXT), metavar="URL")
    batch_size: int | None = _training(None, "batch size per device", checks.count, problem_default=True)
    max_epochs: int | None = _training(None, "epochs per run", checks.count, problem_default=True)
    target_acc: float | None = _training(None, "validation accuracy that counts as converged, time-to-target",
                                         checks.fraction, problem_default=True)
    val_every: float = _training(VAL_EVERY_FOR_TARGET, "validate every this fraction of an epoch (Lightning's "
                                 "val_check_interval); finer checks resolve time-to-target finer, at the cost of "
                                 "more validation passes", checks.fraction, metavar="FRACTION")
    max_loss: float = _training(1e3, "diverged: a non-finite loss, or most losses of a 25-step window above this",
                                checks.positive_number)
    data_dir: str = _data("data", "CIFAR-10 folder: cifar-10-batches-py/ (downloaded if missing) or train/ + test/ "
                          "images", _TEXT)
    dataset: str = _data("auto", "auto: detect from --data-dir; synthetic: small generated data for smoke runs",
                         choices=DATASETS)
    dataset_source: str = _data("", "what dataset resolved to", checks.anything, set_by="sweep")
    val_size: int | None = _data(None, "train images held out for validation", checks.optional(checks.at_least(0)),
                                 default_text="5000; 10% for small sets; 0: none")
    augment: bool | None = _data(None, "the problem's training augmentation on or off (seed_cnn's, on: random crop "
                                 "with pad 4 and horizontal flip)",
                                 checks.optional(_SWITCH), problem_default=True)
    synthetic_size: int = _data(10_000, "train images of --dataset synthetic", checks.at_least(20))
    name: str = _output("sweep", "sweep folder name under --log-dir", _TEXT)
    log_dir: str = _output("lightning_logs", "TensorBoard and results root", _TEXT)
    restart: bool = _output(False, "delete this sweep's folder and start over", _SWITCH)
    keep_checkpoints: bool = _output(False, "keep each run's last.ckpt after it ends", _SWITCH)
    error_control: str = _output("fwer", "the report's correction over all its verdicts: fwer (Holm: the chance of "
                                 "any false verdict at most 5%) or fdr (Benjamini-Hochberg: false verdicts at most 5% "
                                 "of those made)", choices=ERROR_CONTROLS)
    report: bool = _output(True, "skip report.md and figures (default: write them)", _SWITCH, flag="--no-report")
    progress: bool = _output(True, "no progress bar (logs, batch jobs; default: a bar)", _SWITCH,
                             flag="--no-progress-bar")
    accelerator: str = _hardware("auto", "cpu, gpu, auto, ...", _TEXT)
    devices: int | list[int] | str = _hardware("auto", "devices per node: a count (-1: all), a list like 0,1, or auto",
                                               checks.devices)
    strategy: str = _hardware("auto", "e.g. ddp for data-parallel runs over --devices", _TEXT)
    num_nodes: int = _hardware(1, "machines for each run (torchrun or SLURM launch)", checks.count)
    precision: str = _hardware("32-true", "e.g. bf16-mixed, 16-mixed", _TEXT)
    limit_train_batches: int | float | None = _hardware(None, "batches per epoch: a count, or a fraction like 0.1",
                                                        checks.optional(checks.fraction_or_count))
    limit_eval_batches: int | None = _hardware(None, "evaluate on N batches of 1,000 images only: each validation, the "
                                               "train-subset accuracy and test (a quick look; recorded in the "
                                               "protocol, so such runs never mix with full ones)",
                                               checks.optional(checks.count), metavar="N")
    channels_last: bool = _hardware(False, "NHWC memory layout for the CNN", _SWITCH)
    compile: bool = _hardware(False, "torch.compile the network", _SWITCH)
    compile_mode: str = _hardware("default", "torch.compile's mode; reduce-overhead replays CUDA graphs on a GPU",
                                  choices=COMPILE_MODES)
    fused: bool = _hardware(False, "torch's fused optimizer kernels where they exist (faster; Adam numerics differ "
                            "slightly)", _SWITCH)
    cuda_graphs: str = _hardware("auto", "replay the network's forward and backward as CUDA graphs: the same kernels, "
                                 "less host time per step; auto: on a single CUDA device in fp32 without --compile",
                                 choices=CUDA_GRAPHS)
    deterministic: bool = _hardware(False, "deterministic kernels where torch has them (cuDNN, cuBLAS; a warning names "
                                    "any op without one): a rerun, side by side or alone, gives the same bits on the "
                                    "same GPU; slower", _SWITCH)
    parallel: int | str = _hardware("auto", "runs at once, each in its own process; auto: as many as the GPUs hold "
                                    "(up to 5 each), one at a time on a CPU", checks.count_or_auto,
                                    flag_type=count_or_auto)
    # Runs planned on this run's device at once: set per worker by --parallel.
    concurrent_runs: int = _hardware(1, "", checks.count, set_by="sweep")
    shard: str = _hardware("1/1", "K/N: run only the K-th of N disjoint slices of the grid", _TEXT)
    yes: bool = _hardware(False, f"start a grid above {checks.MAX_RUNS_WITHOUT_YES:,} runs (without it such a grid "
                          "stops with its size and cost)", _SWITCH)
    claim_timeout: float = _hardware(DEFAULT_STALE_AFTER, "a run claimed by a process on another machine is taken "
                                     "over after this long without a heartbeat (on this machine, as soon as the "
                                     "process has ended)", checks.positive_number, metavar="SECONDS")


FIELDS = {item.name: item for item in dataclasses.fields(SweepSettings)}
GIVEN_FIELDS = [item for item in FIELDS.values() if item.metadata.get("set_by") != "sweep"]  # by flags and files
ENTRY_FIELDS = [item for item in GIVEN_FIELDS if "set_by" not in item.metadata]  # each a flag and a key
FIELD_CHECKS: dict[str, Any] = {name: item.metadata["check"] for name, item in FIELDS.items()}


def flag_of(field_name: str) -> str:
    """The flag that sets a field, as the checks name it (a field the sweep sets itself: its name)."""
    item = FIELDS[field_name]
    if item.metadata.get("set_by") == "sweep":
        return field_name
    return item.metadata.get("flag", "--" + field_name.replace("_", "-"))


def check_fields(settings: SweepSettings) -> None:
    """Each field's type and range, the first bad one as one line."""
    for field_name, check in FIELD_CHECKS.items():
        check(getattr(settings, field_name), flag_of(field_name))
