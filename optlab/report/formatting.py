"""How numbers read in the report: one format per kind of quantity, so tables, sentences and claims agree."""

import math

from optlab.report.stats import MIN_SEEDS, Paired, Spread

DASH = "—"


def lr_text(lr: float) -> str:
    return f"{lr:g}"


def pct(value: float | None, digits: int = 1) -> str:
    return DASH if value is None else f"{100 * value:.{digits}f}%"


def _mean_std(values: Spread, digits: int, scale: float = 1, unit: str = "", sign: str = "") -> str:
    """'mean ± std unit' over seeds; a single seed shows its value alone."""
    if values.mean is None:
        return DASH
    text = f"{scale * values.mean:{sign}.{digits}f}"
    if values.std is None:
        return f"{text}{unit}"
    return f"{text} ± {scale * values.std:.{digits}f}{unit}"


def pct_spread(values: Spread, digits: int = 1) -> str:
    """'61.2 ± 0.8%'."""
    return _mean_std(values, digits, scale=100, unit="%")


def points_spread(values: Spread, digits: int = 1) -> str:
    """A difference of two accuracies, in percentage points with its sign."""
    return _mean_std(values, digits, scale=100, unit=" pts", sign="+")


def num_spread(values: Spread, digits: int = 0) -> str:
    return _mean_std(values, digits)


def mib(value: float | None) -> str:
    return DASH if value is None else f"{value / 2**20:.2f} MiB"


def paired_text(pairs: Paired, unit: str, scale: float = 1.0, digits: int = 1, over: str = "seeds") -> str:
    """'+8.1 pts [95% CI +5.2, +11.0], d_z 4.1, ahead in 3/3 seeds, p 0.012'."""
    if pairs.mean is None:
        return "no paired seeds"
    text = f"{scale * pairs.mean:+.{digits}f}{unit}"
    if pairs.interval is not None:
        low, high = pairs.interval
        text += f" [95% CI {scale * low:+.{digits}f}, {scale * high:+.{digits}f}]"
    if pairs.effect_size is not None:
        text += f", d_z {pairs.effect_size:.1f}"
    text += f", ahead in {pairs.wins}/{pairs.n} {over}"
    if pairs.wins + pairs.losses < pairs.n:
        text += f" ({pairs.n - pairs.wins - pairs.losses} tied)"
    if pairs.p_value is not None:
        text += f", p {pairs.p_value:.3g}"
    elif pairs.n < MIN_SEEDS:
        text += f" (fewer than {MIN_SEEDS} seeds: no interval judged)"
    return text


def count_text(count: int | float, word: str, plural: str | None = None) -> str:
    """'1 epoch', '10 epochs', '0.5 epochs'; plural where adding an s is wrong ('2 batches')."""
    return f"{count:g} {word if count == 1 else plural or word + 's'}"


def confidence_text(confidence: float) -> str:
    """'95%', '99.906%': enough decimals to show two digits of the miss rate."""
    miss = 100 * (1 - confidence)
    decimals = max(0, 1 - math.floor(math.log10(miss))) if miss > 0 else 0
    return f"{round(100 * confidence, decimals):g}%"


def interval_text(interval: tuple[float, float] | None, confidence: float | None, scale: float = 1.0,
                  digits: int = 1) -> str:
    """'[99.9% CI +5.2, +11.0]' (empty without an interval)."""
    if interval is None or confidence is None:
        return ""
    low, high = (_end(scale * end, digits) for end in interval)
    return f"[{confidence_text(confidence)} CI {low}, {high}]"


def _end(value: float, digits: int) -> str:
    """An interval's end with its sign, and more digits where the usual ones would round it to 0."""
    while round(value, digits) == 0 and value != 0 and digits < 6:
        digits += 1
    return f"{value:+.{digits}f}"


def verdict_text(judged, unit: str, scale: float = 1.0, digits: int = 1, over: str = "seeds",
                 procedure: str = "Holm") -> str:
    """A corrected comparison: '+8.1 pts [99.9% CI +5.2, +11.0], ahead in 3/3 seeds, Holm p 0.012' (the interval
    at the level its correction matches, never the unadjusted one)."""
    pairs = judged.pairs
    if pairs.mean is None:
        return "no paired seeds"
    text = f"{scale * pairs.mean:+.{digits}f}{unit}"
    shown = interval_text(judged.interval, judged.confidence, scale, digits)
    text += f" {shown}" if shown else ""
    text += f", ahead in {pairs.wins}/{pairs.n} {over}"
    if pairs.wins + pairs.losses < pairs.n:
        text += f" ({pairs.n - pairs.wins - pairs.losses} tied)"
    if judged.adjusted_p is not None:
        picked = f", picked from {judged.picked_from}" if judged.picked_from > 1 else ""
        text += f", {procedure} p {judged.adjusted_p:.3g}{picked}"
    elif pairs.n < MIN_SEEDS:
        text += f" (fewer than {MIN_SEEDS} seeds: no interval judged)"
    return text


def markdown_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    def line(cells: tuple[str, ...]) -> str:
        return "| " + " | ".join(str(cell).replace("|", "\\|") for cell in cells) + " |"

    return [line(header), "|" + "|".join("---" for _ in header) + "|", *(line(row) for row in rows)]
