"""Search spaces: every optimizer's, holding its defaults, and turned into arguments its constructor takes."""

import math
import textwrap

import pytest
import torch

from optlab.errors import OptlabError
from optlab.optimizers.registry import OPTIMIZERS, build_optimizer, optimizer_spec
from optlab.search.spaces import (
    SPACES,
    Param,
    constructor_defaults,
    optimizer_arguments,
    override,
    space_for,
)


def default_point_value(param: Param, defaults: dict) -> float:
    """What the optimizer's own default is in the search's coordinates (1 − β for the coefficients)."""
    name = param.name
    if name.startswith("one_minus_beta"):
        return 1 - defaults["betas"][int(name[-1]) - 1]
    if name.startswith("one_minus_"):
        return 1 - defaults[name.removeprefix("one_minus_")]
    return defaults[name]


def test_every_registry_optimizer_has_a_space():
    assert set(SPACES) == set(OPTIMIZERS)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_a_space_holds_the_optimizers_defaults_and_its_lr_grid(name):
    space = space_for(name)
    assert space[0].name == "lr" and space[0].log
    spec = optimizer_spec(name)
    assert space[0].holds(spec.lr)
    assert all(space[0].holds(lr) for lr in spec.lr_grid)
    defaults = constructor_defaults(name)
    for param in space[1:]:
        assert param.holds(default_point_value(param, defaults)), (name, param)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
@pytest.mark.parametrize("corner", ["low", "high"])
def test_a_point_of_the_space_builds_the_optimizer(name, corner):
    space = space_for(name)
    point = {param.name: getattr(param, corner) for param in space}
    lr, arguments = optimizer_arguments(point, space, constructor_defaults(name))
    assert lr == point["lr"]
    # Three weight matrices, so Muon has a hidden one (its first param group, the one its lr names).
    params = [*(torch.zeros(3, 3, requires_grad=True) for _ in range(3)), torch.zeros(3, requires_grad=True)]
    optimizer = build_optimizer(name, params, lr, arguments)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(lr)


def test_coefficients_are_searched_as_one_minus_beta():
    space = space_for("adam")
    lr, arguments = optimizer_arguments({"lr": 1e-3, "one_minus_beta2": 0.01}, space, constructor_defaults("adam"))
    assert arguments == {"betas": (0.9, 0.99)}
    _, arguments = optimizer_arguments({"lr": 0.1, "one_minus_momentum": 0.1}, space_for("momentum"),
                                       constructor_defaults("momentum"))
    assert arguments["momentum"] == pytest.approx(0.9)


def test_the_bottom_decade_of_weight_decay_is_off():
    (decay,) = [param for param in space_for("adamw") if param.name == "weight_decay"]
    assert decay.value(decay.low * 5) == 0.0
    assert decay.value(decay.low * 20) == pytest.approx(decay.low * 20)
    assert decay.holds(0.0)


def test_an_override_replaces_one_range_and_keeps_the_rest():
    spaces = {"adam": space_for("adam"), "sgd": space_for("sgd")}
    changed = override(spaces, "adam.lr=1e-5:1e-1:log")
    lr = changed["adam"][0]
    assert (lr.low, lr.high, lr.log) == (1e-5, 1e-1, True)
    assert changed["adam"][1:] == spaces["adam"][1:] and changed["sgd"] == spaces["sgd"]
    linear = override(spaces, "adam.one_minus_beta1=0.05:0.2:linear")["adam"][1]
    assert (linear.low, linear.high, linear.log) == (0.05, 0.2, False)


@pytest.mark.parametrize(("text", "says"), [
    ("adam.lr=1e-3", "expected NAME.PARAM=LOW:HIGH"),
    ("lr=1e-4:1e-2", "expected NAME.PARAM=LOW:HIGH"),
    ("adam.lr=1e-2:1e-4", "LOW < HIGH"),
    ("adam.lr=0:1e-2:log", "0 < LOW"),
    ("adam.lr=1e-4:inf", "not a finite number"),
    ("adam.lr=a:b", "is not a number"),
    ("lion.lr=1e-4:1e-2", "not in --optimizers"),
    ("adam.lr=1e-4:1e-2:cubic", "expected NAME.PARAM=LOW:HIGH"),
])
def test_a_bad_override_is_one_line_naming_the_form(text, says):
    with pytest.raises(OptlabError, match=says) as caught:
        override({"adam": space_for("adam")}, text)
    assert "\n" not in str(caught.value)


def test_a_plugin_declares_its_space_or_gets_its_lr_alone(tmp_path, monkeypatch):
    plugin = tmp_path / "my_opt.py"
    plugin.write_text(textwrap.dedent("""
        import torch

        class Declared(torch.optim.SGD):
            optlab_search_space = {"lr": (1e-4, 1e-1, "log"), "momentum": (0.0, 0.99)}

        class Plain(torch.optim.SGD):
            optlab_default_lr = 0.05
    """))
    declared = space_for(f"{plugin}:Declared")
    assert [(p.name, p.low, p.high, p.log) for p in declared] == [("lr", 1e-4, 1e-1, True),
                                                                  ("momentum", 0.0, 0.99, False)]
    (lr,) = space_for(f"{plugin}:Plain")
    assert lr.name == "lr" and lr.holds(0.05) and math.isclose(lr.low * lr.high, 0.05 ** 2)
