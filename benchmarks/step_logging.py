"""Host time per training step of logging train/loss with Lightning's `self.log`, against the loss monitor's path.

python benchmarks/step_logging.py [--steps 1000] [--warmup 20] [--repeats 5] [--batch-size 4] [--accelerator cpu]

Each variant is the sweep's own module and Trainer (run/trainer.py: build_module, build_trainer; SeedCNN, Adam) on
the same synthetic batches; the variants run round-robin in one process, each round starting one variant later, so a
machine that slows down for a while slows each alike. A tiny batch leaves mostly the host's per-step work to measure.

  monitor     what a sweep does: the loss monitor copies the losses to the host every 25 steps and writes each
              to the loggers at its own step
  self.log    training_step calls self.log("train/loss", loss), written every step (log_every_n_steps=1, as one
              value per step needs); the monitor writes none
  self.log/50 the same call at Lightning's default log_every_n_steps=50: the bookkeeping alone, 1 step in 50 written
  nothing     no train/loss at all: the floor the others are measured from
"""

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import lightning as L  # noqa: E402

from benchmarks.throughput import (  # noqa: E402
    FP32,
    LR,
    OPTIMIZER,
    BenchSettings,
    StepClock,
    TimingCallback,
    load_data,
    sweep_config,
)
from optlab.run.loss_monitor import LossMonitor  # noqa: E402
from optlab.run.module import ImageClassifier  # noqa: E402
from optlab.run.trainer import build_module, build_trainer  # noqa: E402
from optlab.sweep.config import RunSpec  # noqa: E402
from optlab.sweep.run_settings import settings_for  # noqa: E402


class SelfLoggingClassifier(ImageClassifier):
    """The module logging its own training loss on every step, through Lightning."""

    def training_step(self, batch, batch_idx):
        loss = super().training_step(batch, batch_idx)
        self.log("train/loss", loss, on_step=True, on_epoch=False)
        return loss


class SilentMonitor(LossMonitor):
    """The loss monitor without its train/loss writes (divergence and records unchanged)."""

    def _log_step_losses(self, trainer, first_step, losses) -> None:
        pass


VARIANTS = {  # name: (module logs train/loss itself, the monitor writes it, log_every_n_steps)
    "monitor": (False, True, None),
    "self.log": (True, False, 1),
    "self.log/50": (True, False, 50),
    "nothing": (False, False, None),
}


def seconds_per_step(data, name: str) -> float:
    self_logging, monitor_writes, every = VARIANTS[name]
    settings = data.settings
    spec = RunSpec(OPTIMIZER, LR, settings.seed)
    L.seed_everything(settings.seed, workers=True, verbose=False)
    clock = StepClock(settings.warmup, settings.steps, data.device)
    with tempfile.TemporaryDirectory(prefix="optlab-step-logging-") as log_dir:
        run_settings = settings_for(sweep_config(data, FP32, log_dir), spec)
        model = build_module(run_settings, spec, data.datamodule.num_classes)
        if self_logging:
            L.seed_everything(settings.seed, workers=True, verbose=False)  # the same initial weights
            model = SelfLoggingClassifier(**model.hparams)
        trainer = build_trainer(run_settings, spec, LossMonitor() if monitor_writes else SilentMonitor(), has_val=False)
        if every is not None:
            trainer.log_every_n_steps = every
        trainer.callbacks.append(TimingCallback(clock))
        trainer.fit(model, datamodule=data.datamodule)
    return clock.timing().seconds / settings.steps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=1000, help="timed training steps per fit")
    parser.add_argument("--warmup", type=int, default=20, help="untimed steps before timing starts")
    parser.add_argument("--repeats", type=int, default=4, help="rounds of every variant; medians are shown")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--accelerator", default="cpu", choices=("cpu", "gpu"))
    args = parser.parse_args()
    settings = BenchSettings(steps=args.steps, warmup=args.warmup, repeats=args.repeats, batch_size=args.batch_size,
                             accelerator=args.accelerator, synthetic_size=max(4000, (args.steps + args.warmup + 1)
                                                                             * args.batch_size + 1000))
    data = load_data(settings)
    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    names = list(VARIANTS)
    for repeat in range(args.repeats):
        # Each round starts one variant later: fits later in a process run slower, and no variant always goes last.
        for name in names[repeat % len(names):] + names[:repeat % len(names)]:
            times[name].append(seconds_per_step(data, name))
            print(f"round {repeat + 1}: {name:<12} {1e3 * times[name][-1]:7.3f} ms/step", flush=True)
    print(f"\n{args.steps} steps at batch {args.batch_size} on {data.device.type}, median of {args.repeats} rounds "
          f"(min-max); the difference to 'monitor' is the median of the per-round differences")
    for name in VARIANTS:
        ms = [1e3 * t for t in times[name]]
        diffs = [1e3 * (t - m) for t, m in zip(times[name], times["monitor"])]
        print(f"  {name:<12} {statistics.median(ms):7.3f} ms/step ({min(ms):.3f}-{max(ms):.3f})   vs monitor "
              f"{statistics.median(diffs):+7.3f} ms/step ({min(diffs):+.3f} to {max(diffs):+.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
