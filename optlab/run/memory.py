"""The operating system's view of this process's memory: resident size, its high-water mark, freed memory returned."""

import ctypes
import gc
import os
import resource


def rss_bytes() -> int:
    """Resident memory now (Linux /proc), else the process peak from getrusage."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def peak_rss_bytes() -> int | None:
    """The process's resident high-water mark since the last reset (Linux VmHWM), or None where unknown."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def reset_peak_rss() -> bool:
    """Restart the high-water mark at the current resident size (Linux >= 4.0); False where not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def release_freed_memory() -> None:
    """Return memory an earlier run freed to the OS, so a run starts from the same state wherever it falls.

    Without it, glibc keeps freed blocks (the previous run's model, optimizer, logger) mapped, and a later run
    reuses them: its resident memory then grows less than the same run made first.
    """
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
