"""A sweep's folder: where its results lie, and sweep.json, the protocol it records so that no folder mixes runs
made under different settings."""

import dataclasses
import os
import shutil
from pathlib import Path
from typing import Any

from optlab.errors import OptlabError
from optlab.sweep.config import PROTOCOL_DEFAULTS, RunSpec, SweepConfig
from optlab.sweep.results import read_json, write_json_atomic
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


def claim_sweep_folder(config: SweepConfig) -> None:
    """Record the protocol, or refuse to mix runs made under a different one."""
    sweep_dir = config.sweep_dir
    manifest = sweep_dir / "sweep.json"
    if config.restart and sweep_dir.exists():
        busy = RunClaims(sweep_dir, config.claim_timeout).live_holders()
        if busy:
            run_id, holder = next(iter(busy.items()))
            raise OptlabError(f"--restart would delete {sweep_dir} while other processes train in it ({len(busy)} "
                              f"run(s), e.g. {run_id} by {holder.describe()}); stop them first, or use a new --name")
        shutil.rmtree(sweep_dir)
    if manifest.is_file():
        recorded = {**PROTOCOL_DEFAULTS, **_recorded_protocol(manifest)}
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
    check_writable(sweep_dir)
    RunClaims(sweep_dir, config.claim_timeout).check_writable()
    manifest_record = {"protocol": config.protocol(), "config": dataclasses.asdict(config)}
    if config.search != "grid":  # the report reads the ranges (importance, edges) without the registry
        manifest_record["search_spaces"] = {name: [dataclasses.asdict(param) for param in space]
                                            for name, space in config.search_spaces().items()}
    write_json_atomic(manifest, manifest_record)


def _recorded_protocol(manifest: Path) -> dict[str, Any]:
    """The protocol sweep.json records, or one line saying the file is damaged and how to go on."""
    try:
        recorded = read_json(manifest)
    except ValueError:  # not JSON, or not text (UnicodeDecodeError is a ValueError)
        recorded = None
    if not isinstance(recorded, dict) or not isinstance(recorded.get("protocol", {}), dict):
        raise OptlabError(f"{manifest} is damaged (not a sweep record: not JSON, or not the fields scripts/sweep.py "
                          "writes); use --restart to start over or a new --name")
    return recorded.get("protocol", {})
