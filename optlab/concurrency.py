"""How many runs of a sweep to train side by side when the user leaves --parallel at auto."""

import os

# One run of the seed CNN at batch 64 peaks near 0.5 GiB of GPU memory, plus about as much for its CUDA
# context; 1.5 GiB a run leaves room for larger batches and the caching allocator.
GPU_BYTES_PER_RUN = 3 << 29
# Five runs on one H200 each trained as fast as one alone (see BENCHMARKS.md); more is unmeasured.
MAX_RUNS_PER_GPU = 5


def auto_parallel(runs: int, free_gpu_bytes: list[int], cores: int) -> int:
    """Runs at once: on GPUs as many as fit their free memory (up to MAX_RUNS_PER_GPU each) and the cores
    (each run drives its GPU from one Python loop); without a GPU one, since CPU runs share the cores anyway."""
    if not free_gpu_bytes:
        return 1
    slots = sum(min(MAX_RUNS_PER_GPU, free // GPU_BYTES_PER_RUN) for free in free_gpu_bytes)
    return max(1, min(runs, slots, cores))


def gpus_for_auto(accelerator: str, devices, strategy: str, num_nodes: int) -> list[int]:
    """Free bytes of each GPU that auto may spread runs over: only when the user left the devices to us."""
    if accelerator not in ("gpu", "cuda", "auto") or devices != "auto" or strategy != "auto" or num_nodes != 1:
        return []
    import torch

    if not torch.cuda.is_available():
        return []
    return [torch.cuda.mem_get_info(index)[0] for index in range(torch.cuda.device_count())]


def resolve_parallel(parallel: int | str, runs: int, accelerator: str, devices, strategy: str,
                     num_nodes: int) -> int:
    if parallel != "auto":
        return int(parallel)
    return auto_parallel(runs, gpus_for_auto(accelerator, devices, strategy, num_nodes), os.cpu_count() or 1)
