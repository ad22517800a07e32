"""A sweep's folder: where its results lie, and sweep.json, the protocol it records so that no folder mixes runs
made under different settings."""

import dataclasses
import os
import shutil
from pathlib import Path

from optlab.errors import OptlabError
from optlab.records.manifest import SweepManifest
from optlab.sweep.config import RunSpec, SweepConfig
from optlab.sweep.results import check_world_size, read_json, write_json_atomic
from optlab.sweep.run_claims import RunClaims


def results_dir(sweep_dir: Path) -> Path:
    return sweep_dir / "results"


def result_path(sweep_dir: Path, spec: RunSpec) -> Path:
    return results_dir(sweep_dir) / f"{spec.run_id}.json"


def check_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise OptlabError(f"cannot write to --log-dir {folder} ({error.strerror}); choose a writable folder") from None


def claim_sweep_folder(config: SweepConfig, world_size: int | None = None) -> None:
    """Record the protocol and the runs' world size, or refuse to mix runs made under different ones (None: the
    world size the folder records, if any, is kept and not checked)."""
    sweep_dir = config.sweep_dir
    manifest = sweep_dir / "sweep.json"
    if config.restart and sweep_dir.exists():
        busy = RunClaims(sweep_dir, config.claim_timeout).live_holders()
        if busy:
            run_id, holder = next(iter(busy.items()))
            raise OptlabError(f"--restart would delete {sweep_dir} while other processes train in it ({len(busy)} "
                              f"run(s), e.g. {run_id} by {holder.describe()}); stop them first, or use a new --name")
        shutil.rmtree(sweep_dir)
    recorded_world_size = None
    if manifest.is_file():
        record = _recorded(manifest)
        recorded_world_size = record.world_size
        recorded = record.full_protocol
        differences = [f"{key}: {recorded.get(key)!r} there, {value!r} here"
                       for key, value in config.protocol().items()
                       if recorded.get(key) != value]
        if differences:
            raise OptlabError(
                f"{sweep_dir} holds a sweep made with other settings ({'; '.join(differences)}); "
                "use a new --name, or --restart to delete it and start over"
            )
    elif results_dir(sweep_dir).is_dir() and any(results_dir(sweep_dir).glob("*.json")):
        raise OptlabError(f"{sweep_dir} holds results but no sweep.json; use a new --name or --restart")
    if world_size is not None:
        _check_world_size(sweep_dir, recorded_world_size, world_size)
    check_writable(sweep_dir)
    RunClaims(sweep_dir, config.claim_timeout).check_writable()
    manifest_record = {"protocol": config.protocol(), "config": dataclasses.asdict(config)}
    kept_world_size = world_size if world_size is not None else recorded_world_size
    if kept_world_size is not None:
        manifest_record["world_size"] = kept_world_size
    if config.search != "grid":  # the report reads the ranges (importance, edges) without the registry
        manifest_record["search_spaces"] = {name: [dataclasses.asdict(param) for param in space]
                                            for name, space in config.search_spaces().items()}
    SweepManifest.from_json(manifest_record, str(manifest))  # what the report will read: wrong types fail here
    write_json_atomic(manifest, manifest_record)


def _check_world_size(sweep_dir: Path, recorded: int | None, world_size: int) -> None:
    """The world size sweep.json records, then the results' (read once: a folder made before sweep.json recorded
    it, or a result from elsewhere)."""
    if recorded is not None and recorded != world_size:
        raise OptlabError(f"{sweep_dir} holds runs made at world size {recorded} (sweep.json) and this sweep's "
                          f"runs have {world_size}; use the same --devices/--num-nodes, or a new --name")
    check_world_size(sweep_dir, world_size)


def _recorded(manifest: Path) -> SweepManifest:
    """What sweep.json records, or one line saying the file is damaged and how to go on."""
    try:
        return SweepManifest.from_json(read_json(manifest), str(manifest))
    except ValueError:  # not JSON, not text (UnicodeDecodeError), or not the record (DamagedRecord): all ValueErrors
        raise OptlabError(f"{manifest} is damaged (not a sweep record: not JSON, or not the fields scripts/sweep.py "
                          "writes); use --restart to start over or a new --name") from None
