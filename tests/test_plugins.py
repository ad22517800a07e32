"""Plug-in optimizers: a class or factory named by module or file path, checked before any run like the built-ins."""

from pathlib import Path

import pytest
import torch

from optlab.cli import main
from optlab.errors import OptlabError
from optlab.optimizers.registry import (
    accepts_argument,
    build_optimizer,
    check_optimizer_args,
    optimizer_family,
    optimizer_spec,
)
from tests.helpers import sweep_args

PLUGIN = '''
import torch


class SignSGD(torch.optim.Optimizer):
    """Steps along the sign of the gradient."""

    optlab_family = "sgd"
    optlab_lr_grid = (1e-3, 1e-2)

    def __init__(self, params, lr=1e-2, weight_decay=0.0):
        super().__init__(params, {"lr": lr, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()  # Lightning computes the loss and gradients here
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.add_(p.grad.sign() + group["weight_decay"] * p, alpha=-group["lr"])
        return loss


class NoClosure(SignSGD):
    @torch.no_grad()
    def step(self, closure=None):
        pass


def make_adam(params, lr, **kwargs):
    return torch.optim.Adam(params, lr=lr, **kwargs)


def make_nothing(params, lr):
    return None


class NotAnOptimizer:
    pass


class BadFamily(SignSGD):
    optlab_family = "magic"
'''


@pytest.fixture
def plugin_file(tmp_path: Path) -> Path:
    path = tmp_path / "my_opt.py"
    path.write_text(PLUGIN)
    return path


def test_a_class_from_a_file_is_an_optimizer_with_its_declared_family_and_grid(plugin_file):
    name = f"{plugin_file}:SignSGD"
    check_optimizer_args(name, 1e-2, {"weight_decay": 1e-4})
    spec = optimizer_spec(name)
    assert spec.family == "sgd" and spec.lr_grid == (1e-3, 1e-2) and spec.lr == 1e-2
    assert optimizer_family(name) == "sgd" and optimizer_family(name, {name: "adaptive"}) == "adaptive"
    param = torch.ones(3, requires_grad=True)
    optimizer = build_optimizer(name, [param], 0.5)
    param.grad = torch.tensor([1.0, -2.0, 0.0])
    optimizer.step()
    assert param.detach().tolist() == [0.5, 1.5, 1.0]


def test_a_factory_and_a_module_path_work_too(plugin_file):
    factory = f"{plugin_file}:make_adam"
    assert accepts_argument(factory, "betas")  # **kwargs: the constructor judges
    assert isinstance(build_optimizer(factory, [torch.zeros(2, requires_grad=True)], 1e-3, {"betas": (0.8, 0.9)}),
                      torch.optim.Adam)
    assert optimizer_family(factory) == "other"
    check_optimizer_args("torch.optim:Adamax", 1e-3)
    assert isinstance(build_optimizer("torch.optim:Adamax", [torch.zeros(2, requires_grad=True)], 1e-3),
                      torch.optim.Adamax)


@pytest.mark.parametrize("target, message", [
    ("missing.py:SignSGD", "no file missing.py"),
    ("{file}:Nothing", "has no 'Nothing'"),
    ("{file}:NotAnOptimizer", "is a class but not a torch.optim.Optimizer subclass"),
    ("{file}:make_nothing", "returned NoneType, not a torch.optim.Optimizer"),
    ("{file}:BadFamily", "declares family 'magic'; choose from: sgd, adaptive"),
    ("{file}:make_adam", "rejected nonsense=1"),
    ("no_such_package_xyz.opt:Fast", "no module named 'no_such_package_xyz'"),
    ("torch.optim:", "must look like pkg.module:Name"),
    ("{file}:NoClosure", "step(closure) must call closure()"),
    ("torch.optim:Muon", "rejected its defaults: Muon only supports 2D parameters"),  # a bias is 1-D
])
def test_a_bad_plugin_is_one_line(plugin_file, target, message):
    name = target.format(file=plugin_file)
    kwargs = {"nonsense": 1} if name.endswith("make_adam") else None
    with pytest.raises(OptlabError) as error:
        check_optimizer_args(name, 1e-3, kwargs)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_a_plugin_file_that_fails_to_import_is_one_line(tmp_path, capsys):
    broken = tmp_path / "broken.py"
    broken.write_text("import torch\nraise RuntimeError('no GPU here\\nsecond line')\n")
    assert main(sweep_args(tmp_path, "broken", "--optimizers", "adam", f"{broken}:Fast")) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: plug-in optimizer") and "RuntimeError: no GPU here" in err and "\n" not in err
    assert not (tmp_path / "broken").exists()


def test_checking_a_plug_in_leaves_the_random_state_as_it_was(tmp_path):
    """A plug-in whose step draws random numbers, checked before the network is built, must not move the seed's
    initial weights."""
    import torch

    path = tmp_path / "noisy.py"
    path.write_text("import torch\n\n\nclass Noisy(torch.optim.SGD):\n    def step(self, closure=None):\n"
                    "        torch.rand(3)\n        return super().step(closure)\n")
    torch.manual_seed(0)
    before = torch.random.get_rng_state()
    check_optimizer_args(f"{path}:Noisy", 0.1)
    assert torch.equal(torch.random.get_rng_state(), before)
