"""Optimizer families: the groups the report compares (adaptive against the SGD family, and so on)."""

from optlab.errors import OptlabError

FAMILIES: dict[str, str] = {
    "sgd": "SGD family: a step along the (momentum-averaged) gradient, one global learning rate",
    "adaptive": "adaptive: per-coordinate step sizes from gradient statistics (Adam, RMSprop, Lion, ...)",
    "orthogonalized": "orthogonalized / second-order: updates shaped by matrix structure (Muon, SOAP)",
    "lr-free": "learning-rate free: the step size is estimated during training; lr is a multiplier",
    "schedule-free": "schedule-free: iterate averaging replaces the learning-rate schedule",
}
# A plug-in that declares no family is compared in no family claim.
UNDECLARED = "other"


def check_family(family: str, owner: str) -> str:
    """family itself, or one line naming the valid families."""
    if not isinstance(family, str) or (family not in FAMILIES and family != UNDECLARED):
        raise OptlabError(f"{owner} declares family {family!r}; choose from: {', '.join(FAMILIES)}")
    return family
