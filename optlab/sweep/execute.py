"""A sweep, from start to end: check and prepare, train the planned runs, write results.json.

Finished runs are skipped, interrupted ones resumed, and runs another process has claimed are left to it. The
jobs live in rooms of their own: the folder and sweep.json (folder.py), who trains a run (scheduler.py), runs side
by side (pool.py), results.json (results_writer.py) and a search's rounds (searching.py); runs in turn, one
process or the ranks of one DDP run, are here.
"""

import dataclasses
import functools
import logging
import os
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from optlab.data import CIFAR10DataModule
from optlab.errors import OptlabError
from optlab.hardware import bf16_cpu_warning
from optlab.run import interrupts
from optlab.run.runner import run_one
from optlab.sweep.concurrency import plan_parallel
from optlab.sweep.config import RunSpec, SweepConfig
from optlab.sweep.folder import check_writable, claim_sweep_folder, result_path, results_dir
from optlab.sweep.heap import long_lived_frozen
from optlab.sweep.hparams_tab import write_experiment
from optlab.sweep.pool import run_parallel, slot_configs
from optlab.sweep.progress import Progress, headline
from optlab.sweep.ranks import Ranks, say
from optlab.sweep.results_writer import collect, write_results_file
from optlab.sweep.run_claims import RunClaims
from optlab.sweep.run_settings import make_datamodule, settings_for
from optlab.sweep.scheduler import Action, decide, save_result, take_run
from optlab.sweep.searching import Execute, grid_confirmations, run_search
from optlab.sweep.world_size import runs_world_size

__all__ = ["Prepared", "SweepResult", "check_devices", "check_writable", "claim_sweep_folder", "collect", "prepare",
           "result_path", "results_dir", "run_sweep", "slot_configs", "take_run"]  # what callers import from here


@dataclass
class SweepResult:
    """What a sweep produced: results of every finished run in the folder, and what it could not do."""

    sweep_dir: Path
    results: list[dict[str, Any]]
    missing: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    elsewhere: list[str] = field(default_factory=list)  # runs another live process held when this one got to them
    phase_seconds: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Prepared:
    """A sweep ready to train: its config with what the data resolved to, the loaded data, its ranks, and the
    world size its runs train at (what its folder records)."""

    config: SweepConfig
    datamodule: CIFAR10DataModule
    ranks: Ranks
    world_size: int


def run_sweep(config: SweepConfig) -> SweepResult:
    """Run this shard's slice of the grid (or the search); finished runs are skipped, interrupted ones resumed, runs
    claimed by another live process left to it."""
    started = time.perf_counter()
    if config.deterministic:
        # cuBLAS reads it when it makes its first handle: set before anything here touches a GPU (Lightning sets it
        # too, but per Trainer).
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    ready = prepare(config)
    config, ranks = ready.config, ready.ranks
    _warn_slow_precision(config)
    prepared = time.perf_counter()
    skipped: list[str] = []
    execute = functools.partial(_train_planned, ready, skipped)
    rounds = _run_grid if config.search == "grid" else run_search
    try:
        with long_lived_frozen():
            failed, elsewhere = rounds(config, execute, ranks)
    except interrupts.SweepInterrupted as stopped:
        if ranks.rank == 0:
            with interrupts.deferred():  # what finished is written whole, even if another signal comes
                results, missing = write_results_file(config)
            stopped.finished, stopped.planned = len(results), len(results) + len(missing)
        raise
    ran = time.perf_counter()
    results, missing = write_results_file(config) if ranks.rank == 0 else (collect(config.sweep_dir), [])
    phases = {"prepare": prepared - started, "runs": ran - prepared, "collect": time.perf_counter() - ran}
    return SweepResult(config.sweep_dir, results, missing, failed, skipped, elsewhere, phases)


def prepare(config: SweepConfig) -> Prepared:
    """Validate everything that can fail before writing anything; returns the sweep ready to train.

    Rank 0 alone downloads or unpacks the data and applies --restart; every other rank waits for it (or for
    its one-line error) before reading the data or the folder.
    """
    config.validate()
    datamodule = make_datamodule(config)
    config = dataclasses.replace(config, dataset_source=datamodule.source)
    probe = check_devices(config)
    ranks = Ranks(probe.strategy)
    world_size = runs_world_size(config, probe.world_size)
    alone = ranks.rank == 0 and not ranks.others_running  # no other rank exists yet: nobody to wait
    if alone:
        _prepare_on_rank_zero(config, datamodule, world_size)
    ranks.connect()
    error = None
    if ranks.rank == 0 and not alone:
        try:
            _prepare_on_rank_zero(config, datamodule, world_size)
        except OptlabError as problem:
            error = str(problem)
    error = ranks.broadcast(error)  # the barrier: every rank waits here until rank 0 is done
    if error:
        raise OptlabError(error)
    datamodule.load_arrays()
    return Prepared(config, datamodule, ranks, world_size)


def check_devices(config: SweepConfig):
    """Let Lightning judge accelerator, devices and strategy now, before any folder is written; returns the
    probe Trainer, whose strategy knows how the ranks of a multi-process run are started."""
    import lightning as L

    cores = os.cpu_count() or 1
    if config.cuda_graphs == "on":
        import torch

        if config.accelerator == "cpu" or not torch.cuda.is_available():
            raise OptlabError("--cuda-graphs on needs a CUDA GPU (none is visible here); use --cuda-graphs auto "
                              "or off on this machine")
    if config.accelerator == "cpu" and isinstance(config.devices, int) and config.devices > cores:
        raise OptlabError(f"--devices {config.devices} on cpu starts {config.devices} training processes but this "
                          f"machine has {cores} cores; use --devices {cores} or fewer")
    # Its "GPU available" lines would come before a data error's one line; the first run's Trainer prints them.
    lightning_info = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    level = lightning_info.level
    lightning_info.setLevel(logging.WARNING)
    try:
        return L.Trainer(accelerator=config.accelerator, devices=config.devices, strategy=config.strategy,
                         num_nodes=config.num_nodes, precision=config.precision, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    except Exception as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise OptlabError(f"cannot run with --accelerator {config.accelerator} --devices {config.devices} "
                          f"--strategy {config.strategy}: {first_line}") from None
    finally:
        lightning_info.setLevel(level)


def _prepare_on_rank_zero(config: SweepConfig, datamodule: CIFAR10DataModule, world_size: int) -> None:
    datamodule.prepare_data()
    datamodule.load_arrays()
    datamodule.resolved_val_size()
    check_writable(Path(config.log_dir))
    claim_sweep_folder(config, world_size)
    write_experiment(config)


_warned: set[str] = set()  # once per process, however many problems it sweeps


def _warn_slow_precision(config: SweepConfig) -> None:
    """Before any training, once: bf16 on a CPU without bf16 instructions is emulated, and far slower than fp32."""
    import torch

    on_cpu = config.accelerator == "cpu" or (config.accelerator == "auto" and not torch.cuda.is_available()
                                             and not torch.backends.mps.is_available())
    warning = bf16_cpu_warning(config.precision, on_cpu)
    if warning and warning not in _warned:
        _warned.add(warning)
        say(warning)


def _run_grid(config: SweepConfig, execute: Execute, ranks: Ranks) -> tuple[dict[str, str], list[str]]:
    """This shard's grid, then with --confirm-seeds each optimizer's best lr again on those seeds."""
    failed, elsewhere = execute(config.shard_runs())
    if config.confirmation_seeds:
        confirm = ranks.broadcast(grid_confirmations(config, collect(config.sweep_dir))
                                  if ranks.rank == 0 else None)
        more_failed, more_elsewhere = execute(confirm)
        failed, elsewhere = {**failed, **more_failed}, elsewhere + more_elsewhere
    return failed, elsewhere


def _train_planned(ready: Prepared, skipped: list[str], planned: list[RunSpec]) -> tuple[dict[str, str], list[str]]:
    """Train the planned runs that have no result yet: in turn, or side by side as --parallel plans; the runs
    already finished are added to `skipped`."""
    config, ranks = ready.config, ready.ranks
    finished = ranks.broadcast({result["run_id"] for result in collect(config.sweep_dir)})
    todo = [spec for spec in planned if spec.run_id not in finished]
    for spec in planned:
        if spec.run_id in finished:
            skipped.append(spec.run_id)
            say(f"skip {spec.run_id}: already finished")
    plan = plan_parallel(config.parallel, len(todo), config.accelerator, config.devices, config.strategy,
                         config.num_nodes)
    if plan.workers > 1 and len(todo) > 1:
        return run_parallel(config, todo, plan, datamodule=ready.datamodule, world_size=ready.world_size), []
    return _run_in_turn(ready, todo)


def _run_in_turn(ready: Prepared, todo: list[RunSpec]) -> tuple[dict[str, str], list[str]]:
    """One run after another in this process; under DDP rank 0 claims and every rank follows its choice."""
    config, ranks = ready.config, ready.ranks
    claims = RunClaims(config.sweep_dir, config.claim_timeout)
    failed: dict[str, str] = {}
    elsewhere: list[str] = []
    progress = Progress(len(todo))
    for index, spec in enumerate(todo, 1):
        interrupts.check()  # no new run after a signal
        decision = decide(config, spec, claims) if ranks.rank == 0 else None
        claim = decision.claim if decision is not None else None
        go = ranks.broadcast(claim is not None)
        if not go:
            if decision is not None:
                say(str(decision))
                if decision.action is Action.LEAVE:
                    elsewhere.append(spec.run_id)
            continue
        if decision is not None:
            say(f"{decision} ({index}/{len(todo)})")
        try:
            result = run_one(settings_for(config, spec, ready.world_size), spec, ready.datamodule)
            if claim is not None:  # rank 0: the result is saved before the claim goes
                save_result(config, spec, claim, result)
            if result is not None:
                say(progress.line(spec.run_id, headline(result)))
        except OptlabError:
            raise
        except interrupts.SweepInterrupted as stopped:  # before its training began, too
            stopped.run_ids = stopped.run_ids or (spec.run_id,)
            raise
        except Exception as error:  # one broken run must not cost the others
            failed[spec.run_id] = f"{type(error).__name__}: {error}"
            say(f"run {spec.run_id} failed: {failed[spec.run_id]}")
            traceback.print_exc(file=sys.stderr)
            progress.count_failed()
        finally:
            if claim is not None:
                claim.release()
    return failed, elsewhere
