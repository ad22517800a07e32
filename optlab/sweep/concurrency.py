"""How many runs of a sweep to train side by side, and on which GPUs, when --parallel is auto.

The sweep process asks nvidia-smi rather than CUDA: a CUDA context in the parent would hold GPU memory for
the whole sweep, and on a GPU in exclusive-process mode it would lock every worker out.
"""

import os
import subprocess
from dataclasses import dataclass

# One run of the seed CNN at batch 64 peaks near 0.5 GiB of GPU memory, plus about as much for its CUDA
# context; 1.5 GiB a run leaves room for larger batches and the caching allocator.
GPU_BYTES_PER_RUN = 3 << 29
# Five runs on one H200 each trained as fast as one alone (see BENCHMARKS.md); more is unmeasured.
MAX_RUNS_PER_GPU = 5
GPU_QUERY = ["nvidia-smi", "--query-gpu=index,uuid,memory.free,compute_mode", "--format=csv,noheader,nounits"]


@dataclass(frozen=True)
class Gpu:
    """One GPU as CUDA numbers it in this process (after CUDA_VISIBLE_DEVICES)."""

    index: int
    free_bytes: int
    shared: bool  # compute mode Default: several processes may use it at once

    @property
    def slots(self) -> int:
        fits = self.free_bytes // GPU_BYTES_PER_RUN
        return min(MAX_RUNS_PER_GPU if self.shared else 1, fits)


def _names(entry: str, index: str, uuid: str) -> bool:
    """Whether a CUDA_VISIBLE_DEVICES entry names this GPU: its index, its UUID, or a UUID prefix."""
    return entry in (index, uuid) or (entry.startswith("GPU-") and uuid.startswith(entry))


def parse_gpu_query(text: str, visible: str | None) -> list[Gpu]:
    """nvidia-smi's CSV lines, reduced to the GPUs CUDA_VISIBLE_DEVICES lets this process see, in its order."""
    rows = []
    for line in text.strip().splitlines():
        index, uuid, free_mib, mode = (part.strip() for part in line.split(","))
        rows.append((index, uuid, int(free_mib) << 20, mode == "Default"))
    if visible is not None:
        chosen = []
        for entry in (part.strip() for part in visible.split(",")):
            match = [row for row in rows if _names(entry, index=row[0], uuid=row[1])]
            if not match:
                break  # CUDA ignores everything after the first entry it cannot find
            chosen.append(match[0])
        rows = chosen
    return [Gpu(position, free, shared) for position, (_, _, free, shared) in enumerate(rows)]


def query_gpus() -> list[Gpu]:
    """This process's GPUs and their free memory; none when nvidia-smi is missing or fails."""
    try:
        done = subprocess.run(GPU_QUERY, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return []
    if done.returncode != 0:
        return []
    try:
        return parse_gpu_query(done.stdout, os.environ.get("CUDA_VISIBLE_DEVICES"))
    except ValueError:  # a MIG listing or an unexpected format: do not guess
        return []


def auto_devices(runs: int, gpus: list[Gpu], cores: int) -> list[int]:
    """One GPU index per concurrent run: the GPUs' slots taken in turn (0, 1, 0, 1, 0, ...), at most one run
    per core (each run drives its GPU from one Python loop) and per run; empty means one run at a time."""
    order = []
    for round_ in range(MAX_RUNS_PER_GPU):
        order += [gpu.index for gpu in gpus if gpu.slots > round_]
    return order[:min(runs, cores)]


def wants_auto(accelerator: str, devices, strategy: str, num_nodes: int) -> bool:
    """auto spreads runs only over devices the user left to the sweep."""
    return accelerator in ("gpu", "cuda", "auto") and devices == "auto" and strategy == "auto" and num_nodes == 1


@dataclass(frozen=True)
class Plan:
    """Runs at once, and the GPU each concurrent slot uses (empty: Lightning picks, as for one run)."""

    workers: int
    devices: tuple[int, ...] = ()


def plan_parallel(parallel: int | str, runs: int, accelerator: str, devices, strategy: str, num_nodes: int) -> Plan:
    if parallel != "auto":
        return Plan(int(parallel))
    if not wants_auto(accelerator, devices, strategy, num_nodes):
        return Plan(1)
    chosen = auto_devices(runs, query_gpus(), os.cpu_count() or 1)
    return Plan(len(chosen), tuple(chosen)) if len(chosen) > 1 else Plan(1)
