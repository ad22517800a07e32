"""--parallel: runs side by side, each in a worker process that owns one slot (one GPU, or a share of the CPU
cores) for its life and takes runs in turn, claiming each as a sweep in turn does."""

import dataclasses
import os
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context

from optlab.run import interrupts
from optlab.run.runner import run_one
from optlab.sweep.concurrency import Plan
from optlab.sweep.config import RunSpec, SweepConfig
from optlab.sweep.folder import result_path
from optlab.sweep.heap import freeze_long_lived
from optlab.sweep.progress import Progress, headline
from optlab.sweep.ranks import say
from optlab.sweep.results import read_json
from optlab.sweep.run_claims import RunClaims
from optlab.sweep.run_settings import make_datamodule, settings_for
from optlab.sweep.scheduler import Decision, decide, save_result

# The config of this worker process's slot, taken once when the process starts and kept for its life: a
# worker never moves to another GPU, so no GPU ever holds more runs than the plan gave it.
_slot_config: SweepConfig | None = None
_world_size: int | None = None  # the sweep folder's, which every run checks its own against
# The sweep's loaded data, inherited by forked workers (copy-on-write): no worker reads or decodes it again.
_shared_datamodule = None


def _take_slot(slots, threads: int, forked: bool, world_size: int | None) -> None:
    """Pool initializer: bind this worker process to one planned slot.

    A forked worker runs CPU work on one thread: GNU OpenMP cannot start a new thread team in a child forked
    after its parent used one (the child hangs), and the parent may have (decoding, converting the data).
    A GPU run's CPU work is small.
    """
    global _slot_config, _world_size
    import torch

    torch.set_num_threads(1 if forked else threads)
    _slot_config, _world_size = slots.get(), world_size
    interrupts.install()  # a signal to the process group (Ctrl-C) stops this worker's run at a batch boundary too


def _run_in_subprocess(spec: RunSpec) -> Decision:
    """Worker for --parallel: one run in this worker's slot, if this sweep can claim it; writes its own result.
    Returns the decision, without the claim (released here, and no claim crosses to another process)."""
    config = _slot_config
    interrupts.check()  # a run handed over before the signal, not yet started: left for the next sweep
    decision = decide(config, spec, RunClaims(config.sweep_dir, config.claim_timeout))
    if decision.claim is None:
        return decision
    global _shared_datamodule
    if _shared_datamodule is None:  # a spawned worker reads the data once, for all the runs it takes
        _shared_datamodule = make_datamodule(config)
        freeze_long_lived()  # as the sweep does; a forked worker inherits the sweep's frozen heap
    datamodule = _shared_datamodule
    with decision.claim as claim:
        save_result(config, spec, claim, run_one(settings_for(config, spec, _world_size), spec, datamodule))
    return dataclasses.replace(decision, claim=None)


def _worker_config(config: SweepConfig, slot: int, plan: Plan) -> SweepConfig:
    """Spread parallel runs over the GPUs (one device each, as planned); on CPU they share the cores."""
    if plan.devices:
        return dataclasses.replace(config, progress=False, accelerator="gpu",
                                   devices=[plan.devices[slot % len(plan.devices)]])
    import torch

    if config.accelerator in ("gpu", "cuda", "auto") and torch.cuda.is_available():
        return dataclasses.replace(config, progress=False, accelerator="gpu",
                                   devices=[slot % torch.cuda.device_count()])
    return dataclasses.replace(config, progress=False)


def slot_configs(config: SweepConfig, plan: Plan, workers: int) -> list[SweepConfig]:
    """One config per worker slot, each recording how many runs share its device (its GPU, or the CPU)."""
    placed = [_worker_config(config, slot, plan) for slot in range(workers)]
    return [dataclasses.replace(worker, concurrent_runs=sum(other.devices == worker.devices for other in placed)
                                if worker.accelerator == "gpu" else workers)
            for worker in placed]


def _start_method(configs: list[SweepConfig]) -> str:
    """fork for GPU workers: they inherit this process's imports (15-20 s of torch, Lightning and torchmetrics
    on a GPU machine) and its loaded data instead of repeating both. Safe there because this process never
    initializes CUDA (GPUs are counted through NVML and nvidia-smi) and forked workers keep to one CPU thread
    (see _take_slot). CPU workers need their share of the cores, so they start fresh (spawn)."""
    import torch

    if sys.platform != "linux" or torch.cuda.is_initialized() or any(c.accelerator != "gpu" for c in configs):
        return os.environ.get("OPTLAB_START_METHOD", "spawn")
    return os.environ.get("OPTLAB_START_METHOD", "fork")


def run_parallel(config: SweepConfig, todo: list[RunSpec], plan: Plan, task=_run_in_subprocess,
                 datamodule=None, world_size: int | None = None) -> dict[str, str]:
    """Runs side by side: `workers` processes, each owning one slot (one GPU) for its life, taking runs in turn."""
    workers = min(plan.workers, len(todo))
    threads = max(1, (os.cpu_count() or 1) // workers)
    failed: dict[str, str] = {}
    configs = slot_configs(config, plan, workers)
    where = ", ".join(f"{sum(tuple(c.devices) == d for c in configs)} on GPU {d[0]}"
                      for d in dict.fromkeys(tuple(c.devices) for c in configs if c.accelerator == "gpu"))
    say(f"{len(todo)} runs, {workers} at a time, each in its own process" + (f" ({where})" if where else ""))
    progress = Progress(len(todo))
    global _shared_datamodule
    context = get_context(_start_method(configs))
    forked = context.get_start_method() == "fork"
    _shared_datamodule = datamodule if forked else None
    slots = context.Queue()
    for worker in configs:
        slots.put(worker)
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_take_slot,
                             initargs=(slots, threads, forked, world_size)) as pool:
        futures = {pool.submit(task, spec): spec for spec in todo}
        try:
            for future in as_completed(futures):
                spec = futures[future]
                try:
                    outcome = future.result()
                    trained = isinstance(outcome, Decision) and outcome.trains
                    finished = result_path(config.sweep_dir, spec)
                    if trained and finished.is_file():
                        say(progress.line(spec.run_id, headline(read_json(finished))))
                    elif trained:
                        say(f"done {spec.run_id}")
                    else:
                        say(str(outcome))  # skip or leave (a stand-in task's outcome is printed as it is)
                except interrupts.SweepInterrupted:
                    raise
                except Exception as error:
                    failed[spec.run_id] = f"{type(error).__name__}: {error}"
                    say(f"run {spec.run_id} failed: {failed[spec.run_id]}")
                    progress.count_failed()
        except interrupts.SweepInterrupted as stopped:
            _stop_workers(pool, futures, stopped.signum)
            stopped.run_ids = tuple(spec.run_id for future, spec in futures.items() if _stopped_mid_run(future))
            raise
    return failed


def _stopped_mid_run(future) -> bool:
    """Whether a worker's run ended because of the signal (not one it had not started)."""
    if not future.done() or future.cancelled():
        return False
    error = future.exception()
    return isinstance(error, interrupts.SweepInterrupted) and bool(error.run_ids)


def _stop_workers(pool: ProcessPoolExecutor, futures: dict, signum: int) -> None:
    """No run starts after a signal; the runs in training get the same signal (a kill -TERM reaches only this
    process) and stop at a batch boundary, their claims released; then the pool is waited for."""
    for future in futures:
        future.cancel()
    for process in list(getattr(pool, "_processes", {}).values()):  # the pool names no public way to its workers
        try:
            os.kill(process.pid, signum)
        except (ProcessLookupError, OSError):
            pass
    pool.shutdown(wait=True)
