"""Crash-safe JSON files of a sweep folder, and the check that its runs share one world size."""

import json
from pathlib import Path
from typing import Any

from optlab.atomic import write_text_atomic
from optlab.errors import OptlabError
from optlab.records.result_files import read_result


def write_json_atomic(path: Path, payload: Any) -> None:
    """A reader (or a killed sweep) sees the old file or the new one, never half."""
    write_text_atomic(path, json.dumps(payload, indent=1, allow_nan=True))


def read_json(path: Path) -> Any:
    with path.open() as handle:
        return json.load(handle)


# World sizes already read, per result file and version (its modification time and size): a sweep reads each
# result once for this check instead of every result before every run (the square of the sweep's size).
_world_sizes: dict[tuple[str, int, int], int | None] = {}


def check_world_size(sweep_dir: Path, world_size: int) -> None:
    """A folder never mixes world sizes: the effective batch, and so every number, depends on it. Only whole
    results count (a damaged one is trained again, see result_files)."""
    for path in sorted((sweep_dir / "results").glob("*.json")):
        try:
            stat = path.stat()
        except FileNotFoundError:  # set aside or deleted meanwhile
            continue
        version = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
        if version not in _world_sizes:
            result = read_result(path)
            if result is None:  # damaged: not counted, and read again next time
                continue
            _world_sizes[version] = result.get("world_size")
        recorded = _world_sizes[version]
        if recorded is not None and recorded != world_size:
            raise OptlabError(f"{sweep_dir} holds runs made at world size {recorded} ({path.stem}) and this "
                              f"run has {world_size}; use the same --devices/--num-nodes, or a new --name")
