"""Training throughput, seed pipeline vs plain loop vs optlab's Lightning path: python scripts/bench.py --help."""

import argparse
import json
import logging
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from benchmarks.throughput import (  # noqa: E402
    BATCH_SIZE,
    SYNTHETIC_TRAIN_IMAGES,
    BenchSettings,
    Row,
    SweepBench,
    compare_sweeps,
    count_host_syncs,
    format_overhead,
    format_syncs,
    format_table,
    format_targets,
    load_data,
    run_benchmarks,
)
from optlab.data.sources import DATASETS  # noqa: E402
from optlab.errors import OptlabError  # noqa: E402
from optlab.sweep.schema import COMPILE_MODES  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bench.py", description=__doc__,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--steps", type=int, default=300, help="timed training steps per variant")
    p.add_argument("--batch-size", type=int, default=BATCH_SIZE,
                   help="the seed's 64; a tiny batch (e.g. 4) leaves mostly the host's per-step cost to measure")
    p.add_argument("--warmup", type=int, default=10, help="untimed steps before timing starts")
    p.add_argument("--repeats", type=int, default=5, help="runs of each variant, round-robin; the median is shown")
    p.add_argument("--accelerator", default="auto", choices=("cpu", "gpu", "auto"))
    p.add_argument("--dataset", default="synthetic", choices=DATASETS,
                   help="synthetic needs no download; throughput does not depend on pixel values")
    p.add_argument("--data-dir", default="data", help="CIFAR-10 folder for --dataset cifar10/imagefolder/auto")
    p.add_argument("--synthetic-size", type=int, default=SYNTHETIC_TRAIN_IMAGES, help="train images when synthetic")
    p.add_argument("--compile", action="store_true", help="add a torch.compile row (compile time reported apart)")
    p.add_argument("--compile-mode", default="default", choices=COMPILE_MODES,
                   help="torch.compile's mode for that row; reduce-overhead replays CUDA graphs on a GPU")
    p.add_argument("--no-sweep", dest="sweep", action="store_false",
                   help="skip timing a small synthetic sweep, sequential vs --parallel")
    p.add_argument("--parallel", type=int, default=2, help="runs side by side in the timed sweep")
    p.add_argument("--json", default=None, metavar="PATH", help="also write each row's median images/s here")
    return p


def print_timing(row: Row, repeat: int) -> None:
    if row.error:
        print(f"{row.variant.title}: failed: {row.error}", flush=True)
        return
    print(f"repeat {repeat + 1}: {row.variant.title}: {row.rates[-1]:.0f} images/s", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for name in ("lightning.pytorch", "lightning.fabric"):  # one Trainer per measurement: keep its banners out
        logging.getLogger(name).setLevel(logging.WARNING)
    settings = BenchSettings(steps=args.steps, warmup=args.warmup, repeats=args.repeats, accelerator=args.accelerator,
                             dataset=args.dataset, data_dir=args.data_dir, synthetic_size=args.synthetic_size,
                             compile=args.compile, compile_mode=args.compile_mode, batch_size=args.batch_size)
    try:
        data = load_data(settings)
        print(f"{data.device.type}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
              f"{platform.processor() or platform.machine()}; {data.datamodule.source} data, "
              f"{len(data.arrays.train_labels)} train images", flush=True)
        rows = run_benchmarks(data, on_timing=print_timing)
        syncs = count_host_syncs(data)
    except OptlabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"\n{args.steps} timed steps after {args.warmup} warm-up steps, median of {args.repeats} round-robin "
          f"repeats; batch {args.batch_size}, SeedCNN, Adam lr 1e-3"
          + (f"; (e) torch.compile mode {args.compile_mode}" if args.compile else "") + "\n")
    print(format_table(rows))
    print("\n" + format_overhead(rows))
    print(format_syncs(syncs, args.steps))
    if args.json:
        Path(args.json).write_text(json.dumps({key: row.images_per_second for key, row in rows.items()
                                               if not row.error}, indent=1))
    if args.batch_size == BATCH_SIZE:
        print("\n" + format_targets(rows), flush=True)
    else:
        print(f"\ntargets: set for batch {BATCH_SIZE}, not checked at --batch-size {args.batch_size}", flush=True)
    if args.sweep:
        bench = SweepBench(accelerator="gpu" if data.device.type == "cuda" else "cpu")
        try:
            sweep = compare_sweeps(bench, parallel=args.parallel)
        except OptlabError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        print(f"\nsweep wall-clock ({bench.describe()}, startup included): sequential {sweep['sequential_s']:.1f} s, "
              f"--parallel {args.parallel} {sweep['parallel_s']:.1f} s, speedup {sweep['speedup']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
