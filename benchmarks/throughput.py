"""Training throughput of the seed's pipeline, a plain in-memory loop and optlab's Lightning path, in one process.

Every figure is images per second over the same timed steps (batch 64, SeedCNN, Adam lr 1e-3) after untimed
warm-up steps, the median of repeats run round-robin: a machine that slows down for a while slows every variant
alike, so the ratios between rows hold better than the raw figures.
"""

import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import lightning as L
import numpy as np
import torch
import torchvision.transforms as T
from PIL import Image
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from optlab.data import CIFAR10DataModule
from optlab.data.arrays import ImageArrays
from optlab.data.batch_transforms import normalize
from optlab.errors import OptlabError
from optlab.optimizers.registry import build_optimizer
from optlab.problems.seed_cnn import SeedCNN
from optlab.run.loss_monitor import LossMonitor
from optlab.run.trainer import build_module, build_trainer
from optlab.sweep.config import RunSpec, SweepConfig
from optlab.sweep.run_settings import settings_for

BATCH_SIZE = 64
LR = 1e-3
OPTIMIZER = "adam"
SEED_WORKERS = 2
SYNTHETIC_TRAIN_IMAGES = 50_000
SWEEP_SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "sweep.py"


@dataclass(frozen=True)
class BenchSettings:
    """What every variant shares: step counts, repeats, device and data."""

    steps: int = 300
    warmup: int = 10
    repeats: int = 5
    accelerator: str = "auto"
    dataset: str = "synthetic"
    data_dir: str = "data"
    synthetic_size: int = SYNTHETIC_TRAIN_IMAGES
    seed: int = 0
    compile: bool = False
    compile_mode: str = "default"
    batch_size: int = BATCH_SIZE

    def validate(self) -> None:
        if self.warmup < 1 or self.steps < 1 or self.repeats < 1 or self.batch_size < 1:
            raise OptlabError(f"need --warmup, --steps, --repeats and --batch-size >= 1, got {self.warmup}, "
                              f"{self.steps}, {self.repeats}, {self.batch_size}")


def resolve_device(accelerator: str) -> torch.device:
    """cpu, gpu/cuda or auto (a GPU when there is one) to a torch device."""
    if accelerator == "cpu":
        return torch.device("cpu")
    if accelerator in ("gpu", "cuda", "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        if accelerator == "auto":
            return torch.device("cpu")
    raise OptlabError(f"--accelerator {accelerator} is not available here; use cpu, gpu or auto")


@dataclass
class BenchData:
    """The device and the one decoded dataset every variant trains on."""

    settings: BenchSettings
    device: torch.device
    datamodule: CIFAR10DataModule

    @property
    def arrays(self) -> ImageArrays:
        return self.datamodule.load_arrays()


def load_data(settings: BenchSettings) -> BenchData:
    """Decode (or generate) the images once; refuse step counts longer than one epoch."""
    settings.validate()
    device = resolve_device(settings.accelerator)
    # val_size=0: optlab trains on all train images, in the same order as the plain loop.
    datamodule = CIFAR10DataModule(data_dir=settings.data_dir, dataset=settings.dataset, batch_size=settings.batch_size,
                                   val_size=0, synthetic_size=settings.synthetic_size, seed=settings.seed)
    datamodule.prepare_data()
    batches = len(datamodule.load_arrays().train_labels) // settings.batch_size
    if settings.warmup + settings.steps > batches:
        raise OptlabError(f"--warmup + --steps ({settings.warmup + settings.steps}) exceed one epoch ({batches} "
                          f"full batches of {settings.batch_size}); lower them or use more images")
    return BenchData(settings, device, datamodule)


@dataclass(frozen=True)
class Timing:
    """One measurement: the timed steps' seconds and the first (untimed) step's on its own."""

    seconds: float
    first_step_seconds: float


class StepClock:
    """Times steps warmup..warmup+steps-1 (data fetch included) and the first step on its own."""

    def __init__(self, warmup: int, steps: int, device: torch.device) -> None:
        self.warmup, self.steps, self.device = warmup, steps, device
        self.first_start = self.first_end = self.start = self.end = None

    @property
    def total_steps(self) -> int:
        return self.warmup + self.steps

    def _now(self) -> float:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return time.perf_counter()

    def step_started(self, index: int) -> None:
        if index == 0:
            self.first_start = self._now()

    def step_ended(self, index: int) -> None:
        if index == 0:
            self.first_end = self._now()
        if index == self.warmup - 1:
            self.start = self._now()
        if index == self.total_steps - 1:
            self.end = self._now()

    def timing(self) -> Timing:
        if self.end is None:
            raise OptlabError(f"ran fewer than {self.total_steps} steps")
        return Timing(self.end - self.start, self.first_end - self.first_start)


def train_plain(model: nn.Module, optimizer: torch.optim.Optimizer, batches: Iterator[tuple[Tensor, Tensor]],
                clock: StepClock, device: torch.device) -> None:
    """The textbook loop: zero_grad, forward, cross-entropy, backward, step; the clock marks each step."""
    criterion = nn.CrossEntropyLoss()
    model.train()
    for index, (images, labels) in enumerate(batches):
        if index == clock.total_steps:
            break
        clock.step_started(index)
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        loss = criterion(model(images), labels)
        loss.backward()
        optimizer.step()
        clock.step_ended(index)


# (a) The seed's pipeline -------------------------------------------------------------------------------------


class SeedCIFAR10(Dataset):
    """torchvision.datasets.CIFAR10's storage and __getitem__: HWC uint8 numpy, PIL image, transform."""

    def __init__(self, data: np.ndarray, targets: list[int], transform: Callable) -> None:
        self.data = data
        self.targets = targets
        self.transform = transform

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        img, target = self.data[index], self.targets[index]
        img = Image.fromarray(img)
        return self.transform(img), target


def seed_dataset(arrays: ImageArrays) -> SeedCIFAR10:
    """The training images as torchvision holds them (N×32×32×3 numpy, list of ints) with the seed's transform."""
    transform = T.Compose([T.ToTensor(), T.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])
    data = arrays.train_images.permute(0, 2, 3, 1).contiguous().numpy()
    return SeedCIFAR10(data, arrays.train_labels.tolist(), transform)


def measure_seed(data: BenchData) -> Timing:
    """(a) Per-image PIL + ToTensor + Normalize in 2 DataLoader workers, copied to the device each step.

    The seed's own optimizer (torch.optim.Adam with its defaults), whatever optlab's registry builds.
    """
    torch.manual_seed(data.settings.seed)
    loader = DataLoader(seed_dataset(data.arrays), batch_size=data.settings.batch_size, shuffle=True,
                        num_workers=SEED_WORKERS)
    model = SeedCNN().to(data.device)
    clock = StepClock(data.settings.warmup, data.settings.steps, data.device)
    train_plain(model, torch.optim.Adam(model.parameters(), lr=LR), iter(loader), clock, data.device)
    return clock.timing()


# (b) A plain loop over in-memory tensors ---------------------------------------------------------------------


def optlab_order(count: int, seed: int) -> Tensor:
    """The image order of CIFAR10DataModule's first training epoch (its DistributedSampler on one device)."""
    return torch.tensor(list(DistributedSampler(range(count), num_replicas=1, rank=0, shuffle=True, seed=seed)))


def in_memory_batches(images: Tensor, labels: Tensor, order: Tensor,
                      batch_size: int = BATCH_SIZE) -> Iterator[tuple[Tensor, Tensor]]:
    """optlab's batches without Lightning: one gather of uint8 images on the device, then normalize."""
    for start in range(0, len(order), batch_size):
        index = order[start:start + batch_size]
        yield normalize(images[index]), labels[index]


def measure_plain(data: BenchData) -> Timing:
    """(b) The same batches and optimizer as optlab, from uint8 tensors on the device, in the textbook loop."""
    torch.manual_seed(data.settings.seed)
    arrays, device = data.arrays, data.device
    images, labels = arrays.train_images.to(device), arrays.train_labels.to(device)
    order = optlab_order(len(labels), data.settings.seed).to(device)
    model = SeedCNN().to(device)
    optimizer = build_optimizer(OPTIMIZER, model.parameters(), LR)
    clock = StepClock(data.settings.warmup, data.settings.steps, device)
    train_plain(model, optimizer, in_memory_batches(images, labels, order, data.settings.batch_size), clock,
                device)
    return clock.timing()


# (c), (d), (e) optlab's Lightning path -----------------------------------------------------------------------


class TimingCallback(L.Callback):
    """Feeds Lightning's batch hooks to a StepClock; optionally counts host syncs in the timed steps (CUDA)."""

    def __init__(self, clock: StepClock, count_syncs: bool = False) -> None:
        self.clock = clock
        self.count_syncs = count_syncs

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch, batch_idx: int) -> None:
        self.clock.step_started(batch_idx)
        if self.count_syncs and batch_idx == self.clock.warmup:
            torch.cuda.set_sync_debug_mode("warn")

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs, batch,
                           batch_idx: int) -> None:
        if self.count_syncs and batch_idx == self.clock.total_steps - 1:
            torch.cuda.set_sync_debug_mode("default")
        self.clock.step_ended(batch_idx)


@dataclass(frozen=True)
class OptlabVariant:
    """The speed options of one optlab row."""

    precision: str = "32-true"
    channels_last: bool = False
    compile: bool = False
    fused: bool = False
    cuda_graphs: str = "off"


FP32 = OptlabVariant()
GRAPHED = OptlabVariant(cuda_graphs="on")
SPEED_OPTIONS = OptlabVariant("bf16-mixed", channels_last=True, fused=True)
COMPILED = OptlabVariant("bf16-mixed", channels_last=True, compile=True, fused=True)


def sweep_config(data: BenchData, variant: OptlabVariant, log_dir: str) -> SweepConfig:
    """The SweepConfig a sweep would build for this variant, limited to warmup + steps batches of one epoch."""
    settings = data.settings
    return SweepConfig(
        optimizers=[OPTIMIZER], lrs=[LR], seeds=[settings.seed], batch_size=settings.batch_size, max_epochs=1,
        data_dir=settings.data_dir, dataset=settings.dataset, synthetic_size=settings.synthetic_size, val_size=0,
        log_dir=log_dir, name="bench", accelerator="gpu" if data.device.type == "cuda" else "cpu", devices=1,
        precision=variant.precision, limit_train_batches=settings.warmup + settings.steps,
        channels_last=variant.channels_last, compile=variant.compile,
        compile_mode=settings.compile_mode if variant.compile else "default", fused=variant.fused, progress=False,
        report=False, cuda_graphs=variant.cuda_graphs,
    )


def fit_optlab(data: BenchData, variant: OptlabVariant, count_syncs: bool = False) -> Timing:
    """The sweep's own module and Trainer (run/trainer.py: build_module, build_trainer), no validation."""
    settings = data.settings
    spec = RunSpec(OPTIMIZER, LR, settings.seed)
    L.seed_everything(settings.seed, workers=True, verbose=False)
    datamodule = data.datamodule
    # One datamodule for every variant, as a sweep reuses one for all its runs; only its layout differs.
    datamodule.channels_last = variant.channels_last
    clock = StepClock(settings.warmup, settings.steps, data.device)
    with tempfile.TemporaryDirectory(prefix="optlab-bench-") as log_dir:
        run_settings = settings_for(sweep_config(data, variant, log_dir), spec)
        model = build_module(run_settings, spec, datamodule.num_classes)
        trainer = build_trainer(run_settings, spec, LossMonitor(), has_val=False)
        trainer.callbacks.append(TimingCallback(clock, count_syncs))
        trainer.fit(model, datamodule=datamodule)
    return clock.timing()


def count_host_syncs(data: BenchData) -> int | None:
    """Synchronizing CUDA calls during the timed steps of optlab fp32 (torch's sync debug mode); None on CPU."""
    if data.device.type != "cuda":
        return None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit_optlab(data, FP32, count_syncs=True)
    return sum("synchronizing" in str(warning.message) for warning in caught)


# The table ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """One row: a key for ratios and targets, a label for people, and how to measure it once."""

    key: str
    tag: str
    label: str
    measure: Callable[[BenchData], Timing]

    @property
    def title(self) -> str:
        return f"{self.tag} {self.label}"


VARIANTS = (
    Variant("seed", "(a)", "seed: PIL+ToTensor+Normalize, 2 workers", measure_seed),
    Variant("plain", "(b)", "plain loop, in-memory tensors", measure_plain),
    Variant("optlab_fp32", "(c)", "optlab Lightning fp32", lambda data: fit_optlab(data, FP32)),
    Variant("optlab_fast", "(d)", "optlab bf16-mixed + channels_last + fused",
            lambda data: fit_optlab(data, SPEED_OPTIONS)),
)
# CUDA graphs exist only on a GPU: this row joins the table there.
GPU_VARIANTS = (Variant("optlab_graphs", "(f)", "optlab fp32 + CUDA graphs (sweep default on a GPU)",
                        lambda data: fit_optlab(data, GRAPHED)),)
COMPILED_VARIANT = Variant("optlab_compiled", "(e)", "optlab (d) + torch.compile, 1 run",
                           lambda data: fit_optlab(data, COMPILED))


@dataclass
class Row:
    """Every repeat of one variant."""

    variant: Variant
    steps: int
    batch_size: int = BATCH_SIZE
    timings: list[Timing] = field(default_factory=list)
    error: str = ""

    @property
    def rates(self) -> list[float]:
        return [self.steps * self.batch_size / timing.seconds for timing in self.timings]

    @property
    def images_per_second(self) -> float:
        return statistics.median(self.rates)

    @property
    def spread(self) -> tuple[float, float]:
        return min(self.rates), max(self.rates)

    @property
    def seconds_per_step(self) -> float:
        return self.batch_size / self.images_per_second

    @property
    def first_step_seconds(self) -> float:
        return statistics.median(timing.first_step_seconds for timing in self.timings)


def _first_line(error: Exception) -> str:
    return f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}"


def run_benchmarks(data: BenchData, on_timing: Callable[[Row, int], None] | None = None) -> dict[str, Row]:
    """Every variant `repeats` times, round-robin, in this process; the compiled one once, at the end."""
    settings = data.settings
    variants = VARIANTS + (GPU_VARIANTS if data.device.type == "cuda" else ())
    rows = {variant.key: Row(variant, settings.steps, settings.batch_size) for variant in variants}
    for repeat in range(settings.repeats):
        for row in rows.values():
            if row.error:
                continue
            try:
                row.timings.append(row.variant.measure(data))
            except Exception as error:
                if row.variant not in GPU_VARIANTS:
                    raise
                row.error = _first_line(error)  # an untried GPU path costs its row, not the table
                continue
            if on_timing is not None:
                on_timing(row, repeat)
    if settings.compile:
        row = rows[COMPILED_VARIANT.key] = Row(COMPILED_VARIANT, settings.steps, settings.batch_size)
        try:
            row.timings.append(COMPILED_VARIANT.measure(data))
        except Exception as error:  # a missing compiler toolchain or a compile bug costs this row, not the table
            row.error = _first_line(error)
        if on_timing is not None:
            on_timing(row, 0)
    return rows


def format_table(rows: dict[str, Row]) -> str:
    """Median images/s per variant, its min–max over repeats, and its ratios to (a) and (b)."""
    seed, plain = rows["seed"].images_per_second, rows["plain"].images_per_second
    lines = [f"{'variant':<46} {'images/s':>9} {'min-max':>13} {'vs (a)':>7} {'vs (b)':>7} {'1st step s':>10}",
             "-" * 97]
    for row in rows.values():
        if row.error:
            lines.append(f"{row.variant.title:<46} failed: {row.error}")
            continue
        ips, (low, high) = row.images_per_second, row.spread
        lines.append(f"{row.variant.title:<46} {ips:>9.0f} {f'{low:.0f}-{high:.0f}':>13} {ips / seed:>6.2f}x "
                     f"{ips / plain:>6.2f}x {row.first_step_seconds:>10.2f}")
    return "\n".join(lines)


def format_overhead(rows: dict[str, Row]) -> str:
    """Lightning's cost per step over the plain loop on the same batches, from the medians."""
    lightning, plain = rows["optlab_fp32"].seconds_per_step, rows["plain"].seconds_per_step
    extra = lightning - plain
    return (f"Lightning per-step overhead, (c) vs (b) on the same batches: {extra * 1e3:+.2f} ms/step "
            f"({extra / plain:+.1%} of a plain step of {plain * 1e3:.2f} ms)")


def format_syncs(syncs: int | None, steps: int) -> str:
    if syncs is None:
        return ("host-device syncs per step: not measurable on CPU (there is no device queue to wait on); "
                "run with --accelerator gpu to count them")
    return f"host-device syncs in {steps} timed steps of (c): {syncs} ({syncs / steps:.2f} per step)"


@dataclass(frozen=True)
class Target:
    """A ratio a variant must reach against a base, measured on a 2-core CPU."""

    key: str
    base: str
    ratio: float

    def check(self, rows: dict[str, Row]) -> tuple[bool, float]:
        measured = rows[self.key].images_per_second / rows[self.base].images_per_second
        return measured >= self.ratio, measured


TARGETS = (Target("optlab_fp32", "seed", 1.25), Target("optlab_fp32", "plain", 0.95),
           Target("optlab_fast", "seed", 2.3))


def format_targets(rows: dict[str, Row]) -> str:
    lines = ["targets (set for a 2-core CPU):"]
    for target in TARGETS:
        passed, measured = target.check(rows)
        lines.append(f"  {'PASS' if passed else 'MISS'}  {rows[target.key].variant.title} >= {target.ratio:.2f}x "
                     f"{rows[target.base].variant.tag}: {measured:.2f}x")
    return "\n".join(lines)


# Whole sweeps: sequential vs --parallel -----------------------------------------------------------------------


@dataclass(frozen=True)
class SweepBench:
    """A small synthetic sweep, timed end to end: interpreter start, imports, data, fit and test of each run."""

    optimizers: tuple[str, ...] = ("sgd", "momentum", "adam", "rmsprop")
    synthetic_size: int = 5000
    max_epochs: int = 1
    accelerator: str = "cpu"

    def arguments(self, log_dir: Path, name: str, parallel: int) -> list[str]:
        return ["--dataset", "synthetic", "--synthetic-size", str(self.synthetic_size), "--max-epochs",
                str(self.max_epochs), "--optimizers", *self.optimizers, "--accelerator", self.accelerator,
                "--no-report", "--log-dir", str(log_dir), "--name", name, "--parallel", str(parallel)]

    def describe(self) -> str:
        return (f"synthetic {self.synthetic_size} images, {len(self.optimizers)} optimizers, {self.max_epochs} "
                f"epoch(s), on {self.accelerator}")


def time_sweep(bench: SweepBench, log_dir: Path, name: str, parallel: int) -> float:
    """Wall-clock seconds of `python scripts/sweep.py ...` in a fresh process, as a user runs it."""
    command = [sys.executable, str(SWEEP_SCRIPT), *bench.arguments(log_dir, name, parallel)]
    started = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        lines = (completed.stdout + completed.stderr).splitlines()
        # The first failed run says why; the last line only counts the failures.
        reason = next((line for line in lines if "failed:" in line), lines[-1] if lines else "no output")
        raise OptlabError(f"sweep --parallel {parallel} exited with {completed.returncode}: {reason.strip()}")
    return seconds


def compare_sweeps(bench: SweepBench, parallel: int = 2) -> dict[str, float]:
    """Sequential and --parallel wall-clock of the same sweep, each into its own fresh folder."""
    with tempfile.TemporaryDirectory(prefix="optlab-sweep-bench-") as log_dir:
        sequential = time_sweep(bench, Path(log_dir), "sequential", 1)
        side_by_side = time_sweep(bench, Path(log_dir), "parallel", parallel)
    return {"sequential_s": sequential, "parallel_s": side_by_side, "speedup": sequential / side_by_side}
