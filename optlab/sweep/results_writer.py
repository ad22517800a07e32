"""results.json: every finished run of a sweep folder in one file, and the planned runs it still misses."""

import dataclasses
from pathlib import Path

from optlab.records.result_files import kept_records, read_results, records_of
from optlab.report.plan import planned_run_ids
from optlab.sweep.config import SweepConfig
from optlab.sweep.folder import results_dir
from optlab.sweep.ranks import say
from optlab.sweep.results import write_json_atomic


def collect(sweep_dir: Path) -> list[dict]:
    """Every finished run's whole result in the folder (all shards)."""
    return read_results(results_dir(sweep_dir))[0]


def write_results_file(config: SweepConfig) -> tuple[list[dict], list[str]]:
    """results.json from every whole result in the folder, plus the old file's records of runs whose own file is
    damaged (so no run's only record is lost). Processes sharing the folder end in any order: a process writes
    again when a result appeared while it wrote, so the last file written is never missing a run (the folder's
    file names tell, without reading the results again)."""
    summary = config.sweep_dir / "results.json"
    while True:
        listed = _result_names(config.sweep_dir)
        results = collect(config.sweep_dir)
        kept, summary_aside = kept_records(summary, results_dir(config.sweep_dir), {r["run_id"] for r in results})
        if summary_aside is not None:
            say(f"{summary.name} is damaged: kept as {summary_aside.name}, writing it again")
        results += kept
        results.sort(key=lambda result: result["run_id"])
        done = {result["run_id"] for result in results}
        planned = planned_run_ids(dataclasses.asdict(config), records_of(results))
        missing = [run_id for run_id in planned if run_id not in done]
        write_json_atomic(summary, {"runs": results, "missing": missing})
        if _result_names(config.sweep_dir) == listed:
            return results, missing


def _result_names(sweep_dir: Path) -> set[str]:
    return {path.name for path in results_dir(sweep_dir).glob("*.json")}
