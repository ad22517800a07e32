"""Figure styles that hold a full comparison: distinct, stable and by family."""

import itertools
import random

import pytest

from optlab.report.plots import FAMILY_COLORMAPS, optimizer_styles

REGISTRY_FAMILIES = {
    **dict.fromkeys(("sgd", "momentum", "nesterov"), "sgd"),
    **dict.fromkeys(("adam", "adamw", "nadam", "radam", "adamax", "rmsprop", "adagrad", "adadelta", "adafactor",
                     "lion", "lamb"), "adaptive"),
    "muon": "orthogonalized", "soap": "orthogonalized", "prodigy": "lr-free",
    "schedulefree_adamw": "schedule-free", "schedulefree_sgd": "schedule-free",
}


def thirty() -> dict[str, str | None]:
    """The 19 registry optimizers, 8 more adaptive ones and 3 plug-ins of no family."""
    return {**REGISTRY_FAMILIES, **{f"adaptive_{index}": "adaptive" for index in range(8)},
            **{f"plugin_{index}": None for index in range(3)}}


@pytest.mark.parametrize("families", [thirty(), {f"plugin_{index}": None for index in range(30)},
                                      {f"adam_{index}": "adaptive" for index in range(30)}],
                         ids=["mixed", "no-family", "one-family"])
def test_thirty_optimizers_get_thirty_distinct_styles(families):
    styles = optimizer_styles(families)
    assert len({(style.color, style.linestyle) for style in styles.values()}) == len(families) == 30


def test_a_name_keeps_its_style_whatever_order_the_names_come_in():
    families = thirty()
    styles = optimizer_styles(families)
    names = list(families)
    for seed in range(3):
        random.Random(seed).shuffle(names)
        assert optimizer_styles({name: families[name] for name in names}) == styles


def test_families_share_a_hue_and_plain_sgd_and_adadelta_differ():
    styles = optimizer_styles(REGISTRY_FAMILIES)
    assert styles["sgd"].color != styles["adadelta"].color
    blue = [style.color for name, style in styles.items() if REGISTRY_FAMILIES[name] == "sgd"]
    # Blues: blue is the strongest channel of every SGD-family colour.
    assert all(color[2] > max(color[0], color[1]) for color in blue)
    assert set(REGISTRY_FAMILIES.values()) <= set(FAMILY_COLORMAPS)


def test_registry_optimizers_that_share_a_line_style_differ_visibly_in_colour():
    """Neighbours in a family (adam, adamax, adamw) must not be a sixth of one hue apart on the same line style."""
    styles = optimizer_styles(REGISTRY_FAMILIES)
    for (a, style_a), (b, style_b) in itertools.combinations(styles.items(), 2):
        if style_a.linestyle == style_b.linestyle:
            distance = sum((x - y) ** 2 for x, y in zip(style_a.color[:3], style_b.color[:3])) ** 0.5
            assert distance > 0.17, (a, b, distance)
    assert len({styles[name].linestyle for name in ("adam", "adamax", "adamw")}) >= 2
