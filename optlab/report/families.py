"""Which family an optimizer belongs to, for the claims that compare families.

A result may carry its optimizer's family (`family`, from the optimizer registry); results made before that
field existed get it from the optimizer's name here.
"""

from typing import Any

SGD, ADAPTIVE = "sgd", "adaptive"
FAMILY_BY_NAME = {
    **{name: SGD for name in ("sgd", "momentum", "nesterov")},
    **{name: ADAPTIVE for name in ("adam", "adamw", "rmsprop", "adagrad", "adadelta", "adamax", "nadam", "radam")},
}


def family_of(optimizer: str, runs: list[dict[str, Any]] | tuple[dict[str, Any], ...] = ()) -> str | None:
    """The recorded family of an optimizer's runs, else the name-based one (None: a family no claim compares)."""
    for run in runs:
        if run.get("family"):
            return run["family"]
    return FAMILY_BY_NAME.get(optimizer)
