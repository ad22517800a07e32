"""Files that appear whole or not at all: a killed writer leaves the previous version, never half a file."""

import glob
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO


def write_atomic(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Let `write` fill a hidden file beside path, then rename it over path in one step."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with partial.open("wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str) -> None:
    write_atomic(path, lambda handle: handle.write(text.encode()))


# A write_atomic takes well under a second; a partial file this old was left by a writer killed mid-write.
ABANDONED_PARTIAL_SECONDS = 60.0


def remove_abandoned_partials(folder: Path, names: Iterable[str],
                              older_than: float = ABANDONED_PARTIAL_SECONDS) -> list[Path]:
    """Delete the hidden `.NAME.<pid>.tmp` files a killed write_atomic left beside these names; returns them.

    Judged by age, not by whether the pid lives: the folder may be shared with other machines, where a pid
    says nothing, and a write still in progress is never a minute old.
    """
    removed = []
    now = time.time()
    for name in names:
        for partial in folder.glob(f".{glob.escape(name)}.*.tmp"):
            if not partial.name[len(name) + 2:-4].isdigit():
                continue
            try:
                if now - partial.stat().st_mtime > older_than:
                    partial.unlink()
                    removed.append(partial)
            except FileNotFoundError:  # another report removed it first
                continue
    return removed
