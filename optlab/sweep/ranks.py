"""The processes of one multi-process run (DDP) in step before and between Trainers.

Every rank runs the whole sweep: the same sequence of Trainers. Only rank 0 prepares the data, applies
--restart and takes run claims; the other ranks must wait for it and then follow its choices, or they read
a folder that is about to change and disagree on which runs remain. Under torchrun or SLURM all ranks start
at once; Lightning's own launcher on one machine starts the others when asked, so they are started here,
before the first Trainer, and every rank joins the process group through Lightning's strategy.
"""

import os
from typing import Any, TypeVar

# The object Lightning gives its rank to (lightning.fabric re-exports it): importing it here costs no Lightning import,
# so a command that stops at a flag error stays quick.
from lightning_utilities.core.rank_zero import rank_zero_only

T = TypeVar("T")
RANK_VARIABLES = ("RANK", "LOCAL_RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK")  # where Lightning reads it, in order


def global_rank() -> int:
    """Lightning's rank once it is imported; before that, the launcher's environment, read as Lightning reads it."""
    rank = getattr(rank_zero_only, "rank", None)
    if rank is not None:
        return rank
    for name in RANK_VARIABLES:
        if os.environ.get(name) is not None:
            return int(os.environ[name])
    return 0


def say(message: str) -> None:
    """Print once per multi-process run: on global rank 0."""
    if global_rank() == 0:
        print(message, flush=True)


class Ranks:
    """This process's place among a run's processes, and the rank-0-decides-everyone-follows channel."""

    def __init__(self, strategy: Any = None) -> None:
        self._strategy = strategy if _spans_processes(strategy) else None
        self.connected = False
        if self._strategy is not None:
            self._strategy.set_world_ranks()  # the rank from the environment, before any Trainer runs

    @property
    def rank(self) -> int:
        return self._strategy.global_rank if self._strategy is not None else global_rank()

    @property
    def others_running(self) -> bool:
        """Whether the other ranks exist already (torchrun, SLURM, or this is one Lightning started)."""
        return self._strategy is not None and self._strategy.cluster_environment.creates_processes_externally

    def connect(self) -> None:
        """Start the other ranks if this process is the one to start them, then join the process group."""
        if self._strategy is None or self.connected:
            return
        self._strategy.launcher.launch(lambda: None)  # starts the local ranks unless they were started outside
        self._strategy.setup_environment()  # joins the process group the Trainers will use
        self.connected = True

    def broadcast(self, value: T) -> T:
        """Rank 0's value on every rank (after connect); the value itself in a single process."""
        if self._strategy is None:
            return value
        return self._strategy.broadcast(value, src=0)


def _spans_processes(strategy: Any) -> bool:
    """A strategy whose ranks are separate runs of this script (DDP started by a script launcher or from outside);
    ddp_spawn runs the sweep loop in one process only and needs nothing here."""
    if strategy is None or getattr(strategy, "world_size", 1) <= 1:
        return False
    from lightning.pytorch.strategies.launchers.subprocess_script import _SubprocessScriptLauncher

    return isinstance(getattr(strategy, "launcher", None), _SubprocessScriptLauncher) and hasattr(
        strategy, "set_world_ranks")
