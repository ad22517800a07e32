"""Test problems: a network and the protocol it is trained with. Adding one: see README, "Problems"."""

from optlab.errors import OptlabError
from optlab.problems import deepobs_3c3d, resnet18, seed_cnn
from optlab.problems.problem import Problem

DEFAULT_PROBLEM = "seed_cnn"
PROBLEMS: dict[str, Problem] = {module.PROBLEM.name: module.PROBLEM for module in (seed_cnn, deepobs_3c3d, resnet18)}


def get_problem(name: str) -> Problem:
    """The registered problem, or one line listing the valid names."""
    try:
        return PROBLEMS[name]
    except KeyError:
        raise OptlabError(f"unknown problem {name!r}; choose from: {', '.join(PROBLEMS)}") from None
