"""Which result files a sweep trusts, and what becomes of the others.

A run's result is written atomically (optlab.atomic), so a file that does not parse or lacks a field every
finished run writes was damaged after the fact: a full disk, a copy cut short, an editor. Such a file is
never counted as finished and never deleted: it is renamed aside (`<run>.json.damaged`) and the run trained
again. Torch-free, so the report reads results through the same rules.
"""

import itertools
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from optlab.records.run_result import RunResult
from optlab.records.typed import DamagedRecord

# Fields every result has held since the first version of the file: a result without one is not whole.
REQUIRED_FIELDS = ("run_id", "optimizer", "lr", "seed", "test_acc", "epochs")
DAMAGED_SUFFIX = ".damaged"


def parse_result(path: Path) -> dict[str, Any] | None:
    """The result in path if the file is whole (parses, holds every required field, names its own run); None
    when it is damaged. A missing file raises FileNotFoundError: absent is not damaged."""
    data = path.read_bytes()
    try:
        result = json.loads(data)
    except ValueError:  # not JSON, or not text at all (UnicodeDecodeError is a ValueError)
        return None
    return result if is_whole(result, path.stem) else None


def is_whole(record: Any, run_id: str | None = None) -> bool:
    """A record holding every field a finished run writes (and naming run_id, when given)."""
    return (isinstance(record, dict) and all(key in record for key in REQUIRED_FIELDS)
            and (run_id is None or record["run_id"] == run_id))


def read_result(path: Path) -> dict[str, Any] | None:
    """The whole result in path, or None when the file is absent, unreadable or damaged."""
    try:
        return parse_result(path)
    except OSError:
        return None


def as_record(result: dict[str, Any] | None, where: str = "") -> RunResult | None:
    """A whole result as its typed record; None for none, or for one whose fields are not what a result holds
    (the report leaves such a file out as unreadable, as it does a damaged one)."""
    if result is None:
        return None
    try:
        return RunResult.from_json(result, where)
    except DamagedRecord:
        return None


def read_record(path: Path) -> RunResult | None:
    """The result in path as a typed record, or None when the file is absent, unreadable, damaged or not a record."""
    return as_record(read_result(path), path.name)


def records_of(results: Iterable[dict[str, Any]]) -> list[RunResult]:
    """The typed records of whole results, leaving out those that are not valid records."""
    return [record for result in results if (record := as_record(result)) is not None]


def is_damaged(path: Path) -> bool:
    """The file exists but is not a whole result."""
    try:
        return parse_result(path) is None
    except FileNotFoundError:
        return False
    except OSError:
        return True


def read_results(folder: Path) -> tuple[list[dict[str, Any]], list[Path]]:
    """Every whole result in a results folder (sorted by file name), and the damaged files beside them."""
    results, damaged = [], []
    for path in sorted(folder.glob("*.json")):
        result = read_result(path)
        if result is not None:
            results.append(result)
        elif path.exists():
            damaged.append(path)
    return results, damaged


def set_aside(path: Path) -> Path:
    """Rename a damaged file to <name>.damaged (then .damaged.1, .2, ... if taken); returns the new path. A hard
    link then an unlink, so a name already taken, even by another process a moment ago, is never overwritten."""
    for count in itertools.count():
        kept = path.with_name(path.name + DAMAGED_SUFFIX + (f".{count}" if count else ""))
        try:
            os.link(path, kept)
        except FileExistsError:
            continue
        except PermissionError:  # storage without hard links: a plain rename, checked just before
            if kept.exists():
                continue
            path.rename(kept)
            return kept
        path.unlink()
        return kept
    raise AssertionError("unreachable")


def damaged_run_ids(folder: Path) -> set[str]:
    """Runs whose own file is damaged now or was set aside: their records elsewhere must be kept."""
    ids = {path.stem for path in folder.glob("*.json") if is_damaged(path)}
    ids |= {path.name.split(".json" + DAMAGED_SUFFIX)[0] for path in folder.glob(f"*.json{DAMAGED_SUFFIX}*")}
    return ids


def kept_records(summary: Path, folder: Path, present: set[str]) -> tuple[list[dict[str, Any]], Path | None]:
    """The records of the old results.json (summary) to carry into the new one: whole records of runs that have
    no whole file in the results folder (ids in present) because theirs is damaged or was set aside. A summary
    that is itself damaged is set aside too (it may hold the only copy of a run): then the records are none and
    the second value is where it was kept."""
    try:
        recorded = json.loads(summary.read_bytes())
    except FileNotFoundError:
        return [], None
    except (OSError, ValueError):
        recorded = None
    if not isinstance(recorded, dict) or not isinstance(recorded.get("runs"), list):
        try:
            return [], set_aside(summary)
        except FileNotFoundError:  # another process set it aside first
            return [], None
    damaged = damaged_run_ids(folder) - present
    return [run for run in recorded["runs"] if is_whole(run) and run["run_id"] in damaged], None
