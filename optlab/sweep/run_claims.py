"""Run claims: which process trains which run of a sweep folder.

Several processes may work on one folder (a second terminal, a requeued job, machines sharing storage). Before
training a run a process creates `claims/<run_id>.lock` exclusively (O_CREAT|O_EXCL: exactly one creator wins,
on local disks and on NFSv3+). The file names the holder (host, pid, start time) and a heartbeat time that a
background thread rewrites through the descriptor that created it, so the file's modification time says when
the holder last showed life.

A claim is stale when its holder is gone: on the same host, when its pid has ended; anywhere, when its
heartbeat is older than the timeout. A lock file that cannot be read as a claim (junk, or a claim cut short)
is stale once it is older than a short grace period: a taker fills its new file within milliseconds. A stale
claim is deleted by a taker holding an exclusive guard file, who judges it stale again first, and then claimed
like a free run: whoever creates the new file exclusively wins. The run then resumes from its checkpoint.

Kept whole: a few lines over the house length, since taking, keeping alive and judging a claim are one protocol
that is read together.
"""

import json
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from optlab.errors import OptlabError

# A holder on another host counts as gone after this long without a heartbeat. It must exceed the heartbeat
# interval plus how late another machine may see a file's new modification time (NFS caches attributes for up
# to 60 s by default) plus the clock difference between machines.
DEFAULT_STALE_AFTER = 300.0
HEARTBEATS_PER_TIMEOUT = 10
ABANDONED_GUARD_SECONDS = 60.0
# A lock file that is not a claim is left alone this long after its last change: a taker creates its file
# empty and writes its claim into it a few milliseconds later, so a younger unreadable file may be one.
UNREADABLE_GRACE_SECONDS = 10.0


@dataclass(frozen=True)
class Holder:
    """Who holds a claim, as its file says, and when the file last changed."""

    host: str
    pid: int
    started: float
    heartbeat: float  # the file's modification time: rewritten by every heartbeat
    readable: bool = True  # False: the file is not a claim (junk, or one being written)

    def describe(self, now: float | None = None) -> str:
        age = (time.time() if now is None else now) - self.heartbeat
        if not self.readable:
            return f"a file that is not a claim yet, written {max(age, 0):.0f} s ago"
        return f"{self.host} pid {self.pid}, last heartbeat {max(age, 0):.0f} s ago"


def this_host() -> str:
    return socket.gethostname()


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host (a zombie, dead but not yet reaped, does not count)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def read_holder(path: Path) -> Holder | None:
    """The claim's holder; None when there is no claim. A file that is not a claim (still being written, or junk)
    names an unknown holder that is not readable."""
    try:
        stat = path.stat()
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        record = json.loads(data)  # bytes: binary junk is a ValueError here, not a decoding traceback
        return Holder(str(record["host"]), int(record["pid"]), float(record["started"]), stat.st_mtime)
    except (ValueError, KeyError, TypeError, IndexError):
        return Holder("?", -1, stat.st_mtime, stat.st_mtime, readable=False)


def is_stale(holder: Holder, stale_after: float, now: float | None = None) -> bool:
    """Its holder is gone: the pid has ended on this host, or no heartbeat came for stale_after seconds; a file
    that is not a claim, once it is older than UNREADABLE_GRACE_SECONDS."""
    now = time.time() if now is None else now
    if not holder.readable:
        return now - holder.heartbeat > min(UNREADABLE_GRACE_SECONDS, stale_after)
    if now - holder.heartbeat > stale_after:
        return True
    return holder.host == this_host() and holder.pid > 0 and not pid_alive(holder.pid)


class RunClaim:
    """A held claim: kept fresh by a heartbeat thread until released (use it as a context manager)."""

    def __init__(self, path: Path, fd: int, replaced: Holder | None, heartbeat_every: float) -> None:
        self.path = path
        self.replaced = replaced  # the gone holder this claim took over from, if any
        self.lost = False  # set when the file at path is no longer ours (another process judged us gone)
        self._fd = fd
        self._record = {"host": this_host(), "pid": os.getpid(), "started": time.time(), "token": uuid.uuid4().hex}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.refresh()
        self._thread = threading.Thread(target=self._beat, args=(heartbeat_every,), daemon=True,
                                        name=f"claim-heartbeat-{path.stem}")
        self._thread.start()

    def refresh(self) -> bool:
        """Rewrite the claim (which moves its modification time); False once it is no longer ours."""
        with self._lock:
            if self._fd < 0:
                return False
            if not self._still_ours():
                self.lost = True
                return False
            # Fixed-width heartbeat: each rewrite has the same length, so a reader never sees a shorter tail.
            payload = json.dumps({**self._record, "heartbeat": f"{time.time():020.6f}"}).encode()
            os.pwrite(self._fd, payload, 0)
            os.ftruncate(self._fd, len(payload))
            os.fsync(self._fd)
            return True

    def _still_ours(self) -> bool:
        try:
            at_path, ours = os.stat(self.path), os.fstat(self._fd)
        except FileNotFoundError:
            return False
        return (at_path.st_dev, at_path.st_ino) == (ours.st_dev, ours.st_ino)

    def _beat(self, every: float) -> None:
        while not self._stop.wait(every):
            try:
                if not self.refresh():
                    return
            except OSError:  # storage away for a moment: the next beat tries again
                continue

    def release(self) -> None:
        """Remove the claim file if it is still ours; idempotent."""
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join()
        with self._lock:
            if self._fd < 0:
                return
            if self._still_ours():
                self.path.unlink(missing_ok=True)
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> "RunClaim":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


class RunClaims:
    """The claims of one sweep folder."""

    def __init__(self, sweep_dir: Path, stale_after: float = DEFAULT_STALE_AFTER) -> None:
        self.folder = Path(sweep_dir) / "claims"
        self.stale_after = stale_after

    def path(self, run_id: str) -> Path:
        return self.folder / f"{run_id}.lock"

    def holder(self, run_id: str) -> Holder | None:
        return read_holder(self.path(run_id))

    def take(self, run_id: str) -> RunClaim | None:
        """Claim the run: a fresh claim, or one taken over from a gone holder; None while a live one holds it."""
        path = self.path(run_id)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, replaced = _create_exclusive(path), None
            if fd is None:
                replaced = self._remove_if_stale(path)
                if replaced is not None or not path.exists():
                    fd = _create_exclusive(path)
        except OSError as error:
            raise self._unwritable(error) from None
        return None if fd is None else RunClaim(path, fd, replaced, self._heartbeat_every())

    def check_writable(self) -> None:
        """Fail with one line now, before any run, if claims cannot be made here."""
        probe = self.folder / f".write-test-{os.getpid()}"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as error:
            raise self._unwritable(error) from None

    def _unwritable(self, error: OSError) -> OptlabError:
        return OptlabError(f"cannot make run claims in {self.folder} ({error.strerror or error}); make it a "
                           "writable folder (remove a file of that name), or use a new --name")

    def _remove_if_stale(self, path: Path) -> Holder | None:
        """Delete the claim if its holder is gone, and say who that was. Takers queue on an exclusive guard
        file and judge the claim again once they hold it, so the fresh claim of a taker that was first is never
        deleted: of several takers of one gone claim, one wins."""
        holder = read_holder(path)
        if holder is None or not is_stale(holder, self.stale_after):
            return None
        guard = path.with_name(f"{path.name}.takeover")
        guard_fd = _create_exclusive(guard)
        if guard_fd is None:
            _clear_abandoned(guard)
            return None
        try:
            holder = read_holder(path)
            if holder is None or not is_stale(holder, self.stale_after):
                return None
            path.unlink(missing_ok=True)
            return holder
        finally:
            os.close(guard_fd)
            guard.unlink(missing_ok=True)

    def live_holders(self) -> dict[str, Holder]:
        """Runs held now by processes that are not gone."""
        live = {}
        for path in sorted(self.folder.glob("*.lock")) if self.folder.is_dir() else []:
            holder = read_holder(path)
            if holder is not None and not is_stale(holder, self.stale_after):
                live[path.stem] = holder
        return live

    def _heartbeat_every(self) -> float:
        return self.stale_after / HEARTBEATS_PER_TIMEOUT


def _create_exclusive(path: Path) -> int | None:
    try:
        return os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644)
    except FileExistsError:
        return None


def _clear_abandoned(guard: Path) -> None:
    """A takeover lasts milliseconds; a guard this old was left by a taker that died during one."""
    try:
        if time.time() - guard.stat().st_mtime > ABANDONED_GUARD_SECONDS:
            guard.unlink(missing_ok=True)
    except FileNotFoundError:
        pass
