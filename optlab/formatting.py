"""How numbers read in the report: one format per kind of quantity, so tables, sentences and claims agree."""

from optlab.stats import Spread

DASH = "—"


def lr_text(lr: float) -> str:
    return f"{lr:g}"


def pct(value: float | None, digits: int = 1) -> str:
    return DASH if value is None else f"{100 * value:.{digits}f}%"


def pct_spread(values: Spread, digits: int = 1) -> str:
    """'61.2 ± 0.8%' over seeds; a single seed shows its value alone."""
    if values.mean is None:
        return DASH
    if values.std is None:
        return f"{100 * values.mean:.{digits}f}%"
    return f"{100 * values.mean:.{digits}f} ± {100 * values.std:.{digits}f}%"


def points_spread(values: Spread, digits: int = 1) -> str:
    """A difference of two accuracies, in percentage points with its sign."""
    if values.mean is None:
        return DASH
    text = f"{100 * values.mean:+.{digits}f}"
    return f"{text} ± {100 * values.std:.{digits}f} pts" if values.std is not None else f"{text} pts"


def num_spread(values: Spread, digits: int = 0) -> str:
    if values.mean is None:
        return DASH
    if values.std is None:
        return f"{values.mean:.{digits}f}"
    return f"{values.mean:.{digits}f} ± {values.std:.{digits}f}"


def mib(value: float | None) -> str:
    return DASH if value is None else f"{value / 2**20:.2f} MiB"
