"""Command line of scripts/sweep.py: flags to a SweepConfig, errors to one line and exit code 2."""

import argparse
import ast
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from optlab.checks import MAX_RUNS_WITHOUT_YES
from optlab.data.sources import DATASETS
from optlab.errors import OptlabError
from optlab.optimizers.families import FAMILIES
from optlab.optimizers.registry import OPTIMIZERS
from optlab.problems import DEFAULT_PROBLEM, PROBLEMS
from optlab.schedules import SCHEDULES
from optlab.sweep import interrupts
from optlab.sweep.config import (
    COMPILE_MODES,
    CUDA_GRAPHS,
    DEFAULT_OPTIMIZERS,
    ERROR_CONTROLS,
    SEARCHES,
    VAL_EVERY_FOR_TARGET,
    SweepConfig,
    problem_configs,
)
from optlab.sweep.grid import DEFAULT_LRS, parse_lr_tokens
from optlab.sweep.run_claims import DEFAULT_STALE_AFTER
from optlab.sweep.sweep_file import apply_sweep_file


def _number(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value


def _key_value(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, raw = text.split("=", 1)
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw
    return key, tuple(value) if isinstance(value, list) else value


class OneLineErrors(argparse.ArgumentParser):
    """argparse's errors as one line (what is wrong, where to look), like every other optlab error."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


# "%(default).0s" prints nothing; it keeps ArgumentDefaultsHelpFormatter from adding "(default: None)".
PROBLEM_DEFAULT = "(default: the problem's%(default).0s)"


# --quick: 50 train batches (3,200 images at batch 64), 2 evaluation batches (2,000 images: evaluation batches hold
# 1,000, so full validation is 5 and test 10), one epoch.
QUICK = {"limit_train_batches": 50, "limit_eval_batches": 2, "max_epochs": 1}


def build_parser() -> argparse.ArgumentParser:
    p = OneLineErrors(
        prog="sweep.py",
        description="Train a test problem's network (the seed CNN by default) once per optimizer (× learning rate "
                    "× seed) from identical initial weights and data order; log to TensorBoard; print and save a "
                    "comparison.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--config", metavar="YAML", default=None,
                   help="a sweep file holding any of these settings (keys: the flag names, e.g. max_epochs; see "
                        "configs/); flags given on the command line override it")
    problem = p.add_argument_group("problem (its defaults fill every protocol flag left unset)")
    problem.add_argument("--problem", dest="problems", nargs="+", default=[DEFAULT_PROBLEM], metavar="NAME",
                         help="test problem(s): " + "; ".join(f"{name}: {spec.summary}".replace("%", "%%")
                                                             for name, spec in PROBLEMS.items())
                         + ". Several run one sweep each, in <log-dir>/<name>/<problem>, plus a cross-problem summary")
    problem.add_argument("--l2", type=float, default=None,
                         help=f"L2 term l2/2·Σw² over weights (not biases) added to the loss {PROBLEM_DEFAULT}")
    grid = p.add_argument_group("grid")
    grid.add_argument("--optimizers", nargs="+", default=list(DEFAULT_OPTIMIZERS), metavar="NAME",
                      help=f"optimizers to compare; choose from: {', '.join(OPTIMIZERS)}; or a plug-in: "
                           "pkg.module:Name or path/to/file.py:Name (README: plug-in optimizers)")
    grid.add_argument("--lr", "--lrs", dest="lrs", nargs="+", default=["1e-3"], metavar="LR",
                      help="learning rate(s) for every optimizer; several make a grid, the best chosen on validation. "
                           "auto: each optimizer's own default range (README); default: each one's default lr; "
                           "NAME=LR,LR,...: that optimizer's own grid (prodigy's lr is a multiplier of its estimate)")
    grid.add_argument("--seeds", "--seed", dest="seeds", nargs="+", type=int, default=[0], metavar="SEED",
                      help="seed(s): same seed = same initial weights and data order for every optimizer")
    grid.add_argument("--optimizer-args", nargs="*", type=_key_value, default=[], metavar="KEY=VALUE",
                      help="extra optimizer arguments, e.g. weight_decay=5e-4 (every optimizer that takes it) "
                           "adam.betas=0.9,0.99 (adam only)")
    grid.add_argument("--families", nargs="*", type=_key_value, default=[], metavar="NAME=FAMILY",
                      help=f"declare a plug-in's family for the report: {', '.join(FAMILIES)}")
    grid.add_argument("--schedule", default="none", choices=SCHEDULES, help="learning-rate schedule (per step)")
    grid.add_argument("--warmup-epochs", type=float, default=0.0, help="linear warmup length, in epochs")
    tune = p.add_argument_group("tuning (README: tune, then confirm)")
    tune.add_argument("--search", default="grid", choices=SEARCHES,
                      help="grid: every lr of --lrs at every seed; random, qmc (Sobol, as AlgoPerf) or tpe: an Optuna "
                           "study per optimizer over its search space (README), the same --trials for each")
    tune.add_argument("--trials", type=int, default=8, help="a search's budget: trials per optimizer")
    tune.add_argument("--tune-seeds", nargs="+", type=int, default=None, metavar="SEED",
                      help="seeds each trial trains at, its score the mean final val accuracy over them "
                           "(default: the first of --seeds)")
    tune.add_argument("--confirm-seeds", nargs="+", type=int, default=None, metavar="SEED",
                      help="fresh seeds (at least 3) that re-run each optimizer's best configuration; every verdict "
                           "rests on them (default for a search: the 3 seeds after the largest tuning seed; a grid "
                           "without them judges on its last seeds, chosen on its first)")
    tune.add_argument("--search-space", nargs="+", default=[], metavar="NAME.PARAM=LOW:HIGH[:log]",
                      help="replace one searched range, e.g. adam.lr=1e-4:1e-2:log")
    tune.add_argument("--search-seed", type=int, default=0, help="the sampler's seed: the same one proposes the "
                                                                 "same trials, on any machine")
    tune.add_argument("--storage", default=None, metavar="URL",
                      help="the studies' storage: default a journal file in the sweep folder; postgresql://... "
                           "shares one study between machines (README: many machines)")
    train = p.add_argument_group("training")
    train.add_argument("--batch-size", type=int, default=None,
                       help=f"batch size per device {PROBLEM_DEFAULT}; seed_cnn: 64")
    train.add_argument("--max-epochs", type=int, default=None,
                       help=f"epochs per run {PROBLEM_DEFAULT}; seed_cnn: 10")
    train.add_argument("--target-acc", type=float, default=None,
                       help=f"validation accuracy that counts as converged, time-to-target {PROBLEM_DEFAULT}; "
                            "seed_cnn: 0.6")
    train.add_argument("--val-every", type=float, default=VAL_EVERY_FOR_TARGET, metavar="FRACTION",
                       help="validate every this fraction of an epoch (Lightning's val_check_interval); finer "
                            "checks resolve time-to-target finer, at the cost of more validation passes")
    train.add_argument("--max-loss", type=float, default=1e3,
                       help="diverged: a non-finite loss, or most losses of a 25-step window above this")
    data = p.add_argument_group("data")
    data.add_argument("--data-dir", default="data",
                      help="CIFAR-10 folder: cifar-10-batches-py/ (downloaded if missing) or train/ + test/ images")
    data.add_argument("--dataset", default="auto", choices=DATASETS,
                      help="auto: detect from --data-dir; synthetic: small generated data for smoke runs")
    data.add_argument("--val-size", type=int, default=None,
                      help="train images held out for validation (default 5000; 10%% for small sets; 0: none)")
    data.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                      help=f"the problem's training augmentation on or off {PROBLEM_DEFAULT}; seed_cnn: off, and on "
                           "means random crop with pad 4 and horizontal flip")
    data.add_argument("--synthetic-size", type=int, default=10_000, help="train images of --dataset synthetic")
    out = p.add_argument_group("output")
    out.add_argument("--name", default="sweep", help="sweep folder name under --log-dir")
    out.add_argument("--log-dir", default="lightning_logs", help="TensorBoard and results root")
    out.add_argument("--restart", action="store_true", help="delete this sweep's folder and start over")
    out.add_argument("--keep-checkpoints", action="store_true", help="keep each run's last.ckpt after it ends")
    out.add_argument("--error-control", choices=ERROR_CONTROLS, default="fwer",
                     help="the report's correction over all its verdicts: fwer (Holm: the chance of any false verdict "
                          "at most 5%%) or fdr (Benjamini-Hochberg: false verdicts at most 5%% of those made)")
    out.add_argument("--no-report", dest="report", action="store_false",
                     help="skip report.md and figures (default: write them%(default).0s)")
    out.add_argument("--no-progress-bar", dest="progress", action="store_false",
                     help="no progress bar (logs, batch jobs; default: a bar%(default).0s)")
    run = p.add_argument_group("hardware and scale-out (Lightning Trainer)")
    run.add_argument("--accelerator", default="auto", help="cpu, gpu, auto, ...")
    run.add_argument("--devices", default="auto", help="devices per node: a count, a list like 0,1, or auto")
    run.add_argument("--strategy", default="auto", help="e.g. ddp for data-parallel runs over --devices")
    run.add_argument("--num-nodes", type=int, default=1, help="machines for each run (torchrun or SLURM launch)")
    run.add_argument("--precision", default="32-true", help="e.g. bf16-mixed, 16-mixed")
    run.add_argument("--limit-train-batches", type=_number, default=None,
                     help="batches per epoch: a count, or a fraction like 0.1")
    run.add_argument("--limit-eval-batches", type=int, default=None, metavar="N",
                     help="evaluate on N batches of 1,000 images only: each validation, the train-subset accuracy "
                          "and test (a quick look; recorded in the protocol, so such runs never mix with full ones)")
    run.add_argument("--quick", action="store_true",
                     help=f"a first look in minutes: --limit-train-batches {QUICK['limit_train_batches']} "
                          f"--limit-eval-batches {QUICK['limit_eval_batches']} --max-epochs {QUICK['max_epochs']}, "
                          "each unless given")
    run.add_argument("--channels-last", action="store_true", help="NHWC memory layout for the CNN")
    run.add_argument("--compile", action="store_true", help="torch.compile the network")
    run.add_argument("--compile-mode", default="default", choices=COMPILE_MODES,
                     help="torch.compile's mode; reduce-overhead replays CUDA graphs on a GPU")
    run.add_argument("--fused", action="store_true",
                     help="torch's fused optimizer kernels where they exist (faster; Adam numerics differ slightly)")
    run.add_argument("--cuda-graphs", default="auto", choices=CUDA_GRAPHS,
                     help="replay the network's forward and backward as CUDA graphs: the same kernels, less host "
                          "time per step; auto: on a single CUDA device in fp32 without --compile")
    run.add_argument("--deterministic", action="store_true",
                     help="deterministic kernels where torch has them (cuDNN, cuBLAS; a warning names any op without "
                          "one): a rerun, side by side or alone, gives the same bits on the same GPU; slower")
    run.add_argument("--parallel", type=_parallel, default="auto",
                     help="runs at once, each in its own process; auto: as many as the GPUs hold (up to 5 "
                          "each), one at a time on a CPU")
    run.add_argument("--shard", default="1/1", help="K/N: run only the K-th of N disjoint slices of the grid")
    run.add_argument("--yes", action="store_true",
                     help=f"start a grid above {MAX_RUNS_WITHOUT_YES:,} runs (without it such a grid stops with its "
                          "size and cost)")
    run.add_argument("--claim-timeout", type=float, default=DEFAULT_STALE_AFTER, metavar="SECONDS",
                     help="a run claimed by a process on another machine is taken over after this long "
                          "without a heartbeat (on this machine, as soon as the process has ended)")
    return p


def _parallel(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a count or auto; got {text!r}") from None


def _devices(text: Any) -> Any:
    """--devices' text as Lightning takes it: auto, a count, or a list of indices (checks.devices judges it)."""
    if not isinstance(text, str) or text == "auto":
        return text
    try:
        return [int(part) for part in text.split(",") if part] if "," in text else int(text)
    except ValueError:
        return text


def config_values(args: argparse.Namespace) -> dict[str, Any]:
    values = vars(args).copy()
    if values.pop("quick", False):
        for key, value in QUICK.items():  # a flag or sweep-file value given explicitly wins
            values[key] = value if values.get(key) is None else values[key]
    values.pop("problems")
    values.pop("config", None)
    values["optimizer_kwargs"] = dict(values.pop("optimizer_args"))
    values["families"] = {name: str(family) for name, family in values.pop("families")}
    shared, values["optimizer_lrs"] = parse_lr_tokens(values["lrs"])
    values["lrs"] = list(DEFAULT_LRS) if shared is None else shared
    values["devices"] = _devices(values["devices"])
    return values


def config_from_args(args: argparse.Namespace) -> SweepConfig:
    """The sweep of the first --problem (the only one, unless several are given)."""
    return configs_from_args(args)[0]


def configs_from_args(args: argparse.Namespace) -> list[SweepConfig]:
    """One SweepConfig per --problem."""
    return problem_configs(config_values(args), args.problems)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args = apply_sweep_file(build_parser, args, argv)
        configs = configs_from_args(args)
        for config in configs:  # every problem's settings checked before any of them runs
            config.validate()
    except OptlabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    _warn_before_training(configs[0])  # once the settings are good: a bad one is the only line printed
    resume = shlex.join(["python", "scripts/sweep.py", *(sys.argv[1:] if argv is None else argv)])
    status = 0
    with interrupts.handling():
        try:
            for config in configs:
                status = max(status, _sweep_one_problem(config, several=len(configs) > 1, resume=resume))
                if status == 2 or status > 128:
                    return status
            if len(configs) > 1:
                _write_cross_problem_summary(configs)
        except interrupts.SweepInterrupted as stopped:  # after the runs: writing the report or the summary
            print(interrupted_line(stopped, resume), file=sys.stderr)
            return stopped.exit_code
    return status


def _warn_before_training(config: SweepConfig) -> None:
    from optlab.report.formatting import count_text
    from optlab.report.selection import split_seeds
    from optlab.report.stats import MIN_SEEDS
    from optlab.sweep.ranks import say

    several = config.search != "grid" or any(len(config.lr_grid(name)) > 1 for name in config.optimizers)
    judged = config.confirmation_seeds or (split_seeds(config.seeds)[1] if several else config.seeds)
    if len(config.optimizers) > 1 and not config.confirmation_seeds and several and len(config.seeds) < 2 * MIN_SEEDS:
        say(f"warning: {count_text(len(config.seeds), 'seed')} and several lrs: the report chooses each lr on the "
            f"first seeds and compares on the others, and needs {MIN_SEEDS} of those; add --confirm-seeds (e.g. 100 "
            f"101 102) or use {2 * MIN_SEEDS} --seeds")
    elif len(config.optimizers) > 1 and len(judged) < MIN_SEEDS:
        say(f"warning: {count_text(len(judged), 'seed')}: the report needs at least {MIN_SEEDS} paired seeds to call "
            f"any difference between optimizers; add --seeds, e.g. --seeds 0 1 2")
    else:
        from optlab.report.power import planned_comparisons, seed_warning

        families = {name: config.family(name) for name in config.optimizers}
        if warning := seed_warning(len(config.optimizers), len(judged),
                                   planned_comparisons(config.optimizers, families)):
            say(warning)
    from optlab.sweep.grid import off_scale_lrs

    if config.search == "grid" and (off_scale := off_scale_lrs(config.optimizers, config.lrs, config.optimizer_lrs)):
        say(off_scale)


def _sweep_one_problem(config: SweepConfig, several: bool, resume: str = "python scripts/sweep.py") -> int:
    from optlab.report.table import results_table
    from optlab.sweep.execute import run_sweep
    from optlab.sweep.ranks import say

    if several:
        say(f"\n== problem {config.problem}: {config.sweep_dir} ==")
    try:
        outcome = run_sweep(config)
    except OptlabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except interrupts.SweepInterrupted as stopped:
        print(interrupted_line(stopped, resume), file=sys.stderr)
        return stopped.exit_code
    except KeyboardInterrupt:  # before the handlers were installed, or where they are not
        print(f"interrupted: finished runs are saved; resume with: {resume}", file=sys.stderr)
        return 130
    say("\n" + results_table(outcome.results))
    say(f"\nresults: {outcome.sweep_dir / 'results.json'}")
    if config.report and outcome.results:
        started = time.perf_counter()
        _make_report(outcome.sweep_dir, config)
        outcome.phase_seconds["report"] = time.perf_counter() - started
    say("time: " + ", ".join(f"{phase} {seconds:.1f} s" for phase, seconds in outcome.phase_seconds.items())
        + f"; {time.process_time():.1f} s CPU in this process since it started")
    if outcome.missing:
        say(f"not yet run in this folder: {len(outcome.missing)} run(s) (other shards, or failed)")
    if outcome.failed:
        print(f"error: {len(outcome.failed)} run(s) failed: {', '.join(outcome.failed)}; "
              "fix the cause and run the same command to retry them", file=sys.stderr)
        return 1
    return 0


def interrupted_line(stopped: interrupts.SweepInterrupted, resume: str) -> str:
    """The one line a signal leaves: which run it stopped, what is saved, the command that resumes."""
    where = f" during {', '.join(stopped.run_ids)}" if stopped.run_ids else ""
    done = (f"{stopped.finished} of {stopped.planned} runs finished, saved in results.json"
            if stopped.finished is not None else "finished runs are saved")
    return f"interrupted by {stopped.name}{where}: {done}; resume with: {resume}"


def _write_cross_problem_summary(configs: list[SweepConfig]) -> None:
    from optlab.sweep.ranks import global_rank, say

    if global_rank() != 0:
        return
    from optlab.report.cross_problem import write_cross_problem_summary

    parent = Path(configs[0].log_dir)
    try:
        path = write_cross_problem_summary(parent, [config.problem for config in configs])
    except (OptlabError, OSError) as error:
        print(f"error: cross-problem summary not written ({error}); retry with: python scripts/report.py {parent}",
              file=sys.stderr)
        return
    say(f"cross-problem summary: {path}")


def _make_report(sweep_dir, config: SweepConfig) -> None:
    from optlab.sweep.ranks import global_rank, say

    if global_rank() != 0:
        return
    from optlab.report.document import write_report

    try:
        path = write_report(sweep_dir, error_control=config.error_control)
    except (OptlabError, OSError) as error:
        # The runs are saved; a report can be made again later with scripts/report.py.
        print(f"error: report not written ({error}); retry with: python scripts/report.py {sweep_dir}",
              file=sys.stderr)
        return
    say(f"report:  {path}")
