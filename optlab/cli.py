"""Command line of scripts/sweep.py: flags to a SweepConfig, errors to one line and exit code 2."""

import argparse
import ast
import sys
from typing import Any

from optlab.data.datamodule import DATASETS
from optlab.errors import OptlabError
from optlab.optimizers.registry import OPTIMIZERS
from optlab.schedules import SCHEDULES
from optlab.sweep.config import COMPILE_MODES, DEFAULT_OPTIMIZERS, SweepConfig


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


def build_parser() -> argparse.ArgumentParser:
    p = OneLineErrors(
        prog="sweep.py",
        description="Train the seed CNN once per optimizer (× learning rate × seed) from identical initial "
                    "weights and data order; log to TensorBoard; print and save a comparison.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    grid = p.add_argument_group("grid")
    grid.add_argument("--optimizers", nargs="+", default=list(DEFAULT_OPTIMIZERS), metavar="NAME",
                      help=f"optimizers to compare; choose from: {', '.join(OPTIMIZERS)}")
    grid.add_argument("--lr", "--lrs", dest="lrs", nargs="+", type=float, default=[1e-3], metavar="LR",
                      help="learning rate(s); several values make a grid, the best chosen on validation")
    grid.add_argument("--seeds", "--seed", dest="seeds", nargs="+", type=int, default=[0], metavar="SEED",
                      help="seed(s): same seed = same initial weights and data order for every optimizer")
    grid.add_argument("--optimizer-args", nargs="*", type=_key_value, default=[], metavar="KEY=VALUE",
                      help="extra optimizer arguments, e.g. weight_decay=5e-4 betas=0.9,0.99")
    grid.add_argument("--schedule", default="none", choices=SCHEDULES, help="learning-rate schedule (per step)")
    grid.add_argument("--warmup-epochs", type=float, default=0.0, help="linear warmup length, in epochs")
    train = p.add_argument_group("training")
    train.add_argument("--batch-size", type=int, default=64, help="batch size per device")
    train.add_argument("--max-epochs", type=int, default=10, help="epochs per run")
    train.add_argument("--target-acc", type=float, default=0.6,
                       help="validation accuracy that counts as converged (time-to-target)")
    train.add_argument("--val-every", type=float, default=1.0, metavar="FRACTION",
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
    data.add_argument("--augment", action="store_true", help="random crop (pad 4) and horizontal flip")
    data.add_argument("--synthetic-size", type=int, default=10_000, help="train images of --dataset synthetic")
    out = p.add_argument_group("output")
    out.add_argument("--name", default="sweep", help="sweep folder name under --log-dir")
    out.add_argument("--log-dir", default="lightning_logs", help="TensorBoard and results root")
    out.add_argument("--restart", action="store_true", help="delete this sweep's folder and start over")
    out.add_argument("--keep-checkpoints", action="store_true", help="keep each run's last.ckpt after it ends")
    out.add_argument("--no-report", dest="report", action="store_false", help="skip report.md and figures")
    out.add_argument("--no-progress-bar", dest="progress", action="store_false",
                     help="no progress bar (logs, batch jobs)")
    run = p.add_argument_group("hardware and scale-out (Lightning Trainer)")
    run.add_argument("--accelerator", default="auto", help="cpu, gpu, auto, ...")
    run.add_argument("--devices", default="auto", help="devices per node: a count, a list like 0,1, or auto")
    run.add_argument("--strategy", default="auto", help="e.g. ddp for data-parallel runs over --devices")
    run.add_argument("--num-nodes", type=int, default=1, help="machines for each run (torchrun or SLURM launch)")
    run.add_argument("--precision", default="32-true", help="e.g. bf16-mixed, 16-mixed")
    run.add_argument("--limit-train-batches", type=_number, default=None,
                     help="batches per epoch: a count, or a fraction like 0.1")
    run.add_argument("--channels-last", action="store_true", help="NHWC memory layout for the CNN")
    run.add_argument("--compile", action="store_true", help="torch.compile the network")
    run.add_argument("--compile-mode", default="default", choices=COMPILE_MODES,
                     help="torch.compile's mode; reduce-overhead replays CUDA graphs on a GPU")
    run.add_argument("--fused", action="store_true",
                     help="torch's fused optimizer kernels where they exist (faster; Adam numerics differ slightly)")
    run.add_argument("--parallel", type=_parallel, default="auto",
                     help="runs at once, each in its own process; auto: as many as the GPUs hold (up to 5 "
                          "each), one at a time on a CPU")
    run.add_argument("--shard", default="1/1", help="K/N: run only the K-th of N disjoint slices of the grid")
    return p


def _parallel(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a count or auto; got {text!r}") from None


def _devices(text: str) -> Any:
    if text == "auto":
        return text
    if "," in text:
        return [int(part) for part in text.split(",") if part]
    try:
        return int(text)
    except ValueError:
        raise OptlabError(f"--devices must be a count, a list like 0,1, or auto; got {text!r}") from None


def config_from_args(args: argparse.Namespace) -> SweepConfig:
    values = vars(args).copy()
    values["optimizer_kwargs"] = dict(values.pop("optimizer_args"))
    values["devices"] = _devices(values["devices"])
    return SweepConfig(**values)


def main(argv: list[str] | None = None) -> int:
    from optlab.report.stats import MIN_SEEDS
    from optlab.report.table import results_table
    from optlab.sweep.execute import run_sweep, say

    args = build_parser().parse_args(argv)
    try:
        config = config_from_args(args)
        if len(config.optimizers) > 1 and len(config.seeds) < MIN_SEEDS:
            say(f"warning: {len(config.seeds)} seed(s): the report needs at least {MIN_SEEDS} paired seeds to call "
                f"any difference between optimizers; add --seeds, e.g. --seeds 0 1 2")
        outcome = run_sweep(config)
    except OptlabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished runs are saved; run the same command again to resume", file=sys.stderr)
        return 130
    say("\n" + results_table(outcome.results))
    say(f"\nresults: {outcome.sweep_dir / 'results.json'}")
    if config.report and outcome.results:
        _make_report(outcome.sweep_dir, config)
    if outcome.missing:
        say(f"not yet run in this folder: {len(outcome.missing)} run(s) (other shards, or failed)")
    if outcome.failed:
        print(f"error: {len(outcome.failed)} run(s) failed: {', '.join(outcome.failed)}; "
              "fix the cause and run the same command to retry them", file=sys.stderr)
        return 1
    return 0


def _make_report(sweep_dir, config: SweepConfig) -> None:
    from optlab.sweep.execute import global_rank, say

    if global_rank() != 0:
        return
    from optlab.report.document import write_report

    try:
        path = write_report(sweep_dir)
    except (OptlabError, OSError) as error:
        # The runs are saved; a report can be made again later with scripts/report.py.
        print(f"error: report not written ({error}); retry with: python scripts/report.py {sweep_dir}",
              file=sys.stderr)
        return
    say(f"report:  {path}")
