"""SIGTERM and SIGINT during a sweep: the signal is recorded, the run in training stops at its next batch (its
last finished epoch's checkpoint kept), and the sweep ends with 128 + the signal's number, as shells report
it, so a scheduler sees a failure and requeues.

Inside a run (`deferred`) the handler only records the signal: stopping between batches never cuts a
checkpoint or a result file in half. Anywhere else it raises SweepInterrupted at once. A second signal always
raises at once (a user pressing Ctrl-C again wants out now).
"""

import logging
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

HANDLED = (signal.SIGTERM, signal.SIGINT)

_received: int | None = None
_deferring = False


class SweepInterrupted(BaseException):
    """A signal ended the sweep. A BaseException, like KeyboardInterrupt: `except Exception` around a failed run
    must not swallow it."""

    def __init__(self, signum: int, run_ids: tuple[str, ...] = ()) -> None:
        super().__init__(signum, run_ids)
        self.signum = signum
        self.run_ids = run_ids  # the runs it stopped before they finished (none: it came between runs)
        self.finished: int | None = None  # runs of the grid finished in the folder, once results.json is written
        self.planned: int | None = None

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def received() -> int | None:
    """The first signal that arrived since `handling` began, if any."""
    return _received


def check() -> None:
    """Raise SweepInterrupted if a signal arrived: the sweep takes no new run after one."""
    if _received is not None:
        raise SweepInterrupted(_received)


def _handle(signum: int, frame: FrameType | None) -> None:
    global _received
    first = _received is None
    if first:
        _received = signum
    if not (_deferring and first):
        raise SweepInterrupted(_received)


class _HideSigtermNotice(logging.Filter):
    """Lightning's own "Received SIGTERM" line: optlab prints the one line that says what to do."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Received SIGTERM" not in record.getMessage()


_SIGNAL_LOGGER = "lightning.pytorch.trainer.connectors.signal_connector"


def install() -> None:
    """Handle SIGTERM and SIGINT in this process from now on (a --parallel worker, for its whole life)."""
    global _received
    _received = None
    for signum in HANDLED:
        signal.signal(signum, _handle)
    logger = logging.getLogger(_SIGNAL_LOGGER)
    if not any(isinstance(existing, _HideSigtermNotice) for existing in logger.filters):
        logger.addFilter(_HideSigtermNotice())


@contextmanager
def handling() -> Iterator[None]:
    """SIGTERM and SIGINT handled as above while the block runs; the previous handlers back after it."""
    global _received
    previous = {signum: signal.getsignal(signum) for signum in HANDLED}
    install()
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _received = None


@contextmanager
def deferred() -> Iterator[None]:
    """A first signal inside the block is only recorded; StopOnSignal (or Lightning's own SIGTERM check) ends the
    training at the next batch, and the caller checks `received` after the block."""
    global _deferring
    outer = _deferring
    _deferring = True
    try:
        yield
    finally:
        _deferring = outer
