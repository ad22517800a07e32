"""A sweep: every run of the grid in order, skipping finished runs and resuming interrupted ones."""

import dataclasses
import os
import shutil
import sys
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from optlab.errors import OptlabError
from optlab.runner import make_datamodule, run_dir, run_one
from optlab.sweep.concurrency import Plan, plan_parallel
from optlab.sweep.config import PROTOCOL_DEFAULTS, RunSpec, SweepConfig
from optlab.sweep.results import read_json, write_json_atomic


@dataclass
class SweepResult:
    """What a sweep produced: results of every finished run in the folder, and what it could not do."""

    sweep_dir: Path
    results: list[dict[str, Any]]
    missing: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def global_rank() -> int:
    from lightning.fabric.utilities.rank_zero import rank_zero_only

    return getattr(rank_zero_only, "rank", 0)


def say(message: str) -> None:
    if global_rank() == 0:
        print(message, flush=True)


def results_dir(sweep_dir: Path) -> Path:
    return sweep_dir / "results"


def result_path(sweep_dir: Path, spec: RunSpec) -> Path:
    return results_dir(sweep_dir) / f"{spec.run_id}.json"


def check_devices(config: SweepConfig) -> None:
    """Let Lightning judge accelerator, devices and strategy now, before any folder is written."""
    import lightning as L

    cores = os.cpu_count() or 1
    if config.accelerator == "cpu" and isinstance(config.devices, int) and config.devices > cores:
        raise OptlabError(f"--devices {config.devices} on cpu starts {config.devices} training processes but this "
                          f"machine has {cores} cores; use --devices {cores} or fewer")
    try:
        L.Trainer(accelerator=config.accelerator, devices=config.devices, strategy=config.strategy,
                  num_nodes=config.num_nodes, precision=config.precision, logger=False,
                  enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    except Exception as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise OptlabError(f"cannot run with --accelerator {config.accelerator} --devices {config.devices} "
                          f"--strategy {config.strategy}: {first_line}") from None


def check_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise OptlabError(f"cannot write to --log-dir {folder} ({error.strerror}); choose a writable folder") from None


def claim_sweep_folder(config: SweepConfig) -> None:
    """Record the protocol, or refuse to mix runs made under a different one."""
    sweep_dir = config.sweep_dir
    manifest = sweep_dir / "sweep.json"
    if config.restart and sweep_dir.exists():
        shutil.rmtree(sweep_dir)
    if manifest.is_file():
        recorded = {**PROTOCOL_DEFAULTS, **read_json(manifest).get("protocol", {})}
        differences = [f"{key}: {recorded.get(key)!r} there, {value!r} here"
                       for key, value in config.protocol().items() if recorded.get(key) != value]
        if differences:
            raise OptlabError(
                f"{sweep_dir} holds a sweep made with other settings ({'; '.join(differences)}); "
                "use a new --name, or --restart to delete it and start over"
            )
    elif results_dir(sweep_dir).is_dir() and any(results_dir(sweep_dir).glob("*.json")):
        raise OptlabError(f"{sweep_dir} holds results but no sweep.json; use a new --name or --restart")
    check_writable(sweep_dir)
    write_json_atomic(manifest, {"protocol": config.protocol(), "config": dataclasses.asdict(config)})


def prepare(config: SweepConfig):
    """Validate everything that can fail before writing anything; returns the loaded datamodule."""
    config.validate()
    datamodule = make_datamodule(config)
    config.dataset_source = datamodule.source
    if global_rank() == 0:
        datamodule.prepare_data()
    datamodule.load_arrays()
    datamodule.resolved_val_size()
    check_devices(config)
    if global_rank() == 0:
        check_writable(Path(config.log_dir))
        claim_sweep_folder(config)
    return datamodule


def collect(sweep_dir: Path, planned: list[RunSpec] | None = None) -> tuple[list[dict], list[str]]:
    """Every finished run's result in the folder (all shards), and the planned runs still missing."""
    results = []
    for path in sorted(results_dir(sweep_dir).glob("*.json")):
        try:
            results.append(read_json(path))
        except (OSError, ValueError):
            continue
    done = {result["run_id"] for result in results}
    missing = [spec.run_id for spec in planned or [] if spec.run_id not in done]
    return results, missing


def _run_in_subprocess(config: SweepConfig, spec: RunSpec, threads: int) -> str:
    """Worker for --parallel: one run in a fresh process; writes its own result file."""
    import torch

    torch.set_num_threads(threads)
    result = run_one(config, spec, make_datamodule(config))
    if result is not None:
        write_json_atomic(result_path(config.sweep_dir, spec), result)
    return spec.run_id


def _worker_config(config: SweepConfig, slot: int, plan: Plan) -> SweepConfig:
    """Spread parallel runs over the GPUs (one device each, as planned); on CPU they share the cores."""
    worker = dataclasses.replace(config, progress=False)
    if plan.devices:
        worker.accelerator, worker.devices = "gpu", [plan.devices[slot % len(plan.devices)]]
        return worker
    import torch

    if config.accelerator in ("gpu", "cuda", "auto") and torch.cuda.is_available():
        worker.accelerator, worker.devices = "gpu", [slot % torch.cuda.device_count()]
    return worker


def run_sweep(config: SweepConfig) -> SweepResult:
    """Run this shard's slice of the grid; finished runs are skipped, interrupted ones resumed."""
    datamodule = prepare(config)
    planned = config.shard_runs()
    done, _ = collect(config.sweep_dir)
    finished = {result["run_id"] for result in done}
    todo = [spec for spec in planned if spec.run_id not in finished]
    skipped = [spec.run_id for spec in planned if spec.run_id in finished]
    for run_id in skipped:
        say(f"skip {run_id}: already finished")
    failed: dict[str, str] = {}
    plan = plan_parallel(config.parallel, len(todo), config.accelerator, config.devices, config.strategy,
                         config.num_nodes)
    if plan.workers > 1 and len(todo) > 1:
        failed = _run_parallel(config, todo, plan)
    else:
        for index, spec in enumerate(todo, 1):
            resuming = (run_dir(config, spec) / "checkpoints" / "last.ckpt").is_file()
            say(f"{'resume' if resuming else 'run'} {spec.run_id} ({index}/{len(todo)})")
            try:
                result = run_one(config, spec, datamodule)
            except OptlabError:
                raise
            except Exception as error:  # one broken run must not cost the others
                failed[spec.run_id] = f"{type(error).__name__}: {error}"
                say(f"run {spec.run_id} failed: {failed[spec.run_id]}")
                traceback.print_exc(file=sys.stderr)
                continue
            if result is not None:
                write_json_atomic(result_path(config.sweep_dir, spec), result)
    results, missing = collect(config.sweep_dir, config.runs())
    if global_rank() == 0:
        write_json_atomic(config.sweep_dir / "results.json", {"runs": results, "missing": missing})
    return SweepResult(config.sweep_dir, results, missing, failed, skipped)


def _run_parallel(config: SweepConfig, todo: list[RunSpec], plan: Plan) -> dict[str, str]:
    workers = min(plan.workers, len(todo))
    threads = max(1, (os.cpu_count() or 1) // workers)
    failed: dict[str, str] = {}
    say(f"{len(todo)} runs, {workers} at a time, each in its own process")
    started = time.perf_counter()
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(_run_in_subprocess, _worker_config(config, i, plan), spec, threads): spec
                   for i, spec in enumerate(todo)}
        for future in as_completed(futures):
            spec = futures[future]
            try:
                future.result()
                say(f"done {spec.run_id} ({time.perf_counter() - started:.0f} s)")
            except Exception as error:
                failed[spec.run_id] = f"{type(error).__name__}: {error}"
                say(f"run {spec.run_id} failed: {failed[spec.run_id]}")
    return failed
