"""A sweep folder read back from its files alone: settings, finished runs (all shards), and the gaps in its grid."""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from optlab.errors import OptlabError
from optlab.records.manifest import SweepManifest
from optlab.records.result_files import read_record
from optlab.records.run_result import RunResult
from optlab.report.plan import planned_run_ids
from optlab.report.selection import has_validation


@dataclass
class SweepRecord:
    """What a sweep folder holds: its settings, every finished run, and what the recorded grid still lacks."""

    sweep_dir: Path
    protocol: dict[str, Any]
    config: dict[str, Any]
    runs: list[RunResult]
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    search_spaces: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # a search's, as sweep.json holds

    @property
    def max_epochs(self) -> int:
        return int(self.protocol.get("max_epochs") or self.config.get("max_epochs") or 1)

    @property
    def target_acc(self) -> float:
        return float(self.protocol.get("target_acc") or self.config.get("target_acc") or 0.0)

    @property
    def has_validation(self) -> bool:
        return has_validation(self.runs)

    @property
    def optimizers(self) -> list[str]:
        """The grid's optimizers in their command-line order, then any others that have results."""
        names = [name for name in self.config.get("optimizers", []) if any(r.optimizer == name for r in self.runs)]
        return names + sorted({r.optimizer for r in self.runs} - set(names))

    @property
    def lrs(self) -> list[float]:
        return sorted({run.lr for run in self.runs})

    @property
    def seeds(self) -> list[int]:
        return sorted({run.seed for run in self.runs})


def _read(path: Path) -> Any:
    with path.open() as handle:
        return json.load(handle)


def load_runs(sweep_dir: Path) -> tuple[list[RunResult], list[str]]:
    """One result per run id: results/<run_id>.json first (every shard writes there), then results.json. A file
    that is damaged, or whose fields are not a result's, is left out and named unreadable."""
    found: dict[str, RunResult] = {}
    unreadable = []
    for path in sorted((sweep_dir / "results").glob("*.json")):
        run = read_record(path)  # the sweep's own rule for a whole result, then the record's types
        if run is None:
            unreadable.append(path.name)
        else:
            found.setdefault(run.run_id, run)
    summary = sweep_dir / "results.json"
    if summary.is_file():
        try:
            for raw in _read(summary).get("runs", []):
                if raw["run_id"] not in found:  # DamagedRecord is a ValueError: the file is unreadable
                    found[raw["run_id"]] = RunResult.from_json(raw, f"{summary.name}: {raw['run_id']}")
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            unreadable.append(summary.name)
    return list(found.values()), unreadable


def load_sweep_record(sweep_dir: Path) -> SweepRecord:
    """Read a sweep folder, or fail with one line saying what is wrong with it."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise OptlabError(f"{sweep_dir} is not a folder; give a sweep folder (<log-dir>/<name> of scripts/sweep.py)")
    manifest = sweep_dir / "sweep.json"
    if not manifest.is_file():
        raise OptlabError(f"{sweep_dir} has no sweep.json, so it is not a sweep folder written by scripts/sweep.py")
    try:
        recorded = SweepManifest.from_json(_read(manifest), manifest.name)
    except (OSError, ValueError) as error:  # a DamagedRecord is a ValueError
        raise OptlabError(f"{manifest} cannot be read ({type(error).__name__}: {error})") from None
    runs, unreadable = load_runs(sweep_dir)
    if not runs:
        raise OptlabError(f"{sweep_dir} has no finished runs yet (no results/*.json, no runs in results.json)")
    planned = planned_run_ids(recorded.config, runs)
    present = {run.run_id for run in runs}
    order = {name: index for index, name in enumerate(recorded.config.get("optimizers", []))}
    runs.sort(key=lambda r: (order.get(r.optimizer, len(order)), r.optimizer, r.lr, r.seed))
    return SweepRecord(
        sweep_dir=sweep_dir, protocol=dict(recorded.protocol), config=dict(recorded.config), runs=runs,
        missing=[run_id for run_id in planned if run_id not in present],
        extra=sorted(present - set(planned)), unreadable=unreadable,
        search_spaces=recorded.search_spaces or {},
    )
