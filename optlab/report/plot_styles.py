"""How each optimizer is drawn in every figure of a report: its family's hue, then a shade and a line style."""

from dataclasses import dataclass

from optlab.records.run_result import FAMILY_BY_NAME
from optlab.report.selection import Choice


@dataclass(frozen=True)
class Style:
    """How one optimizer is drawn in every figure of a report."""

    color: tuple
    linestyle: str


LINESTYLES = ("-", "--", ":", "-.")
# Each family its hue; an optimizer of no known family gets one of the qualitative colours.
FAMILY_COLORMAPS = {"sgd": "Blues", "adaptive": "YlOrRd", "orthogonalized": "Greens", "lr-free": "Purples",
                    "schedule-free": "RdPu"}
# A family's members cycle through this many shades before the next line style: few enough that neighbours in
# a family (adam, adamax, adamw) differ in both shade and line style, not by a sixth of one hue.
SHADES = 4


def optimizer_styles(families: dict[str, str | None]) -> dict[str, Style]:
    """A colour and line style per optimizer: the family's hue, then a shade and a line style by the name's place
    among its family's names sorted, so the same names get the same styles whatever order they come in, and no
    two optimizers share both colour and line style."""
    from matplotlib import colormaps

    members: dict[str | None, list[str]] = {}
    for name in sorted(families):
        family = families[name] if families[name] in FAMILY_COLORMAPS else None
        members.setdefault(family, []).append(name)
    styles = {}
    for family, names in members.items():
        shades = max(min(len(names), SHADES if family else 10), -(-len(names) // len(LINESTYLES)))
        if family:
            colormap = colormaps[FAMILY_COLORMAPS[family]]
            palette = [colormap(0.45 + 0.5 * index / max(shades - 1, 1)) for index in range(shades)]
        elif shades <= 10:
            palette = [colormaps["tab10"](index) for index in range(shades)]
        else:
            palette = [colormaps["turbo"](0.05 + 0.9 * index / (shades - 1)) for index in range(shades)]
        for index, name in enumerate(names):
            styles[name] = Style(palette[index % shades], LINESTYLES[(index // shades) % len(LINESTYLES)])
    return styles


def choice_styles(choices: dict[str, Choice]) -> dict[str, Style]:
    """optimizer_styles for a report's optimizers, by the family their runs recorded."""
    return optimizer_styles({name: choice.family for name, choice in choices.items()})


def optimizer_colors(names: list[str], families: dict[str, str | None] | None = None) -> dict[str, tuple]:
    """The colours of optimizer_styles (families by name where none are given)."""
    families = families or {name: FAMILY_BY_NAME.get(name) for name in names}
    return {name: style.color for name, style in optimizer_styles(families).items()}
