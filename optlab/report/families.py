"""Which family an optimizer belongs to, for the claims that compare families.

A result may carry its optimizer's family (`family`, from the optimizer registry); results made before that
field existed get it from the optimizer's name here.
"""

from typing import Any

from optlab.records.run_result import FAMILY_BY_NAME

SGD, ADAPTIVE = "sgd", "adaptive"


def family_of(optimizer: str, runs: list[dict[str, Any]] | tuple[dict[str, Any], ...] = ()) -> str | None:
    """The recorded family of an optimizer's runs, else the name-based one (None: a family no claim compares)."""
    for run in runs:
        if run.get("family"):
            return run["family"]
    return FAMILY_BY_NAME.get(optimizer)
