"""Keeping Python's cyclic garbage collector off the objects a sweep holds for its whole life.

Imports (torch, Lightning, torchmetrics) and the loaded dataset leave a few million tracked objects. Each CPU run
starts with a full collection (so the previous run's memory is freed before its own is measured), and a full
collection walks all of them: about 0.35-0.46 s a run on a 2-core CPU. Frozen, they are skipped: the collection
walks only what the runs made, and a worker forked for --parallel does not copy the parent's pages by touching
their headers (the use Python's gc.freeze documentation gives).
"""

import gc
from collections.abc import Iterator
from contextlib import contextmanager


def freeze_long_lived() -> None:
    """Collect first, so no garbage is frozen with the rest; then move every object out of the collector's reach."""
    gc.collect()
    gc.freeze()


@contextmanager
def long_lived_frozen() -> Iterator[None]:
    """Frozen for the runs, thawed after: a caller that goes on (a test, a notebook) gets its collector back whole."""
    freeze_long_lived()
    try:
        yield
    finally:
        gc.unfreeze()
