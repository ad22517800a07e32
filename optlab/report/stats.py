"""Mean and seed-to-seed spread of a metric; std is the sample std (n-1), undefined for a single seed."""

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Spread:
    """A metric over seeds: the finite values, their mean and sample std (None when it cannot be told)."""

    values: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float | None:
        return statistics.fmean(self.values) if self.values else None

    @property
    def std(self) -> float | None:
        # n-1: a few seeds are a sample of the seeds one could have drawn, not the whole population.
        return statistics.stdev(self.values) if self.n > 1 else None


def spread(values: Iterable[float | None]) -> Spread:
    """Spread of the finite values; None and NaN (a metric a run never produced) are left out."""
    return Spread(tuple(float(v) for v in values if v is not None and math.isfinite(v)))


def seed_noise(*sides: Spread) -> float | None:
    """The larger sample std of the sides, or None when a side has a single value (no spread to compare)."""
    if any(side.std is None for side in sides):
        return None
    return max(side.std for side in sides)
