import lightning as L
import pytest
import torch

from optlab.data import CIFAR10DataModule
from optlab.errors import OptlabError
from optlab.optimizers.registry import (
    IDENTICAL_FASTER_ON_CPU,
    OPTIMIZERS,
    build_optimizer,
    check_optimizer_args,
    optimizer_state_bytes,
)
from optlab.problems.seed_cnn import SeedCNN
from optlab.run.module import ImageClassifier
from optlab.schedules import build_schedule


def test_registry_has_every_method_the_seed_discusses():
    assert {"sgd", "momentum", "nesterov", "adam", "rmsprop", "adamw", "adagrad", "adadelta", "adamax", "nadam",
            "radam"} <= set(OPTIMIZERS)


# The newer entries take one direct step each in test_new_optimizers; here, through Lightning, those whose
# training step needs more than a plain optimizer (two halves; switching between weight sets).
THROUGH_LIGHTNING = ["sgd", "momentum", "nesterov", "adam", "rmsprop", "adamw", "adagrad", "adadelta", "adamax",
                     "nadam", "radam", "muon", "schedulefree_adamw"]


@pytest.mark.parametrize("name", THROUGH_LIGHTNING)
def test_one_training_step_changes_the_modules_own_parameters(name):
    # The seed's bug: optimizers bound to a model that is then thrown away. Here each run's optimizer
    # comes from configure_optimizers on the module being trained, so a step must move its weights.
    L.seed_everything(0)
    model = ImageClassifier(optimizer=name, lr=1e-2)
    before = [p.detach().clone() for p in model.parameters()]
    datamodule = CIFAR10DataModule(dataset="synthetic", synthetic_size=200, batch_size=16)
    trainer = L.Trainer(accelerator="cpu", fast_dev_run=1, logger=False, enable_progress_bar=False,
                        enable_model_summary=False)
    trainer.fit(model, datamodule=datamodule)
    changed = [not torch.equal(b, p.detach()) for b, p in zip(before, model.parameters())]
    assert all(changed), f"{name}: {changed.count(False)} parameter tensors did not move"
    assert isinstance(trainer.optimizers[0], OPTIMIZERS[name].cls)


def test_registry_defaults_make_the_named_method():
    params = [torch.zeros(2, requires_grad=True)]
    nesterov = build_optimizer("nesterov", params, 0.1)
    assert nesterov.defaults["momentum"] == 0.9 and nesterov.defaults["nesterov"] is True
    assert build_optimizer("sgd", params, 0.1).defaults["momentum"] == 0
    assert build_optimizer("momentum", params, 0.1, {"momentum": 0.5}).defaults["momentum"] == 0.5


@pytest.mark.parametrize(
    "name, lr, kwargs, expected",
    [
        ("adamm", 1e-3, None, "unknown optimizer 'adamm' (did you mean 'adam'?); choose from: sgd, momentum"),
        ("adam", 0.0, None, "learning rate must be a finite number > 0"),
        ("adam", -1.0, None, "learning rate must be a finite number > 0"),
        ("adam", float("nan"), None, "learning rate must be a finite number > 0"),
        ("sgd", 1e-3, {"betas": (0.9, 0.99)}, "optimizer 'sgd' takes no argument 'betas'; it takes: momentum"),
        ("adam", 1e-3, {"betas": (2.0, 0.9)}, "optimizer 'adam' rejected"),
    ],
)
def test_bad_optimizer_settings_fail_with_one_clear_line(name, lr, kwargs, expected):
    with pytest.raises(OptlabError) as error:
        check_optimizer_args(name, lr, kwargs)
    assert expected in str(error.value)
    assert "\n" not in str(error.value)


def test_optimizer_state_bytes_counts_adams_two_moments():
    param = torch.zeros(1000, requires_grad=True)
    adam = build_optimizer("adam", [param], 1e-3)
    param.grad = torch.ones(1000)
    adam.step()
    # exp_avg and exp_avg_sq (4 bytes each per element) plus the scalar step counter
    assert 8000 <= optimizer_state_bytes(adam) <= 8000 + 8
    sgd = build_optimizer("sgd", [param], 1e-3)
    sgd.step()
    assert optimizer_state_bytes(sgd) == 0


@pytest.mark.parametrize("schedule", ["none", "cosine", "step"])
def test_schedules_warm_up_linearly_then_follow_their_shape(schedule):
    param = torch.zeros(1, requires_grad=True)
    optimizer = build_optimizer("sgd", [param], 1.0)
    scheduler = build_schedule(schedule, optimizer, total_steps=100, warmup_steps=10)
    lrs = []
    for _ in range(100):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert all(a < b for a, b in zip(lrs[:9], lrs[1:10]))
    if schedule == "none":
        assert lrs[10:] == [pytest.approx(1.0)] * 90
    elif schedule == "cosine":
        assert lrs[-1] < 0.01 and all(a >= b for a, b in zip(lrs[10:], lrs[11:]))
    else:
        assert lrs[40] == pytest.approx(1.0) and lrs[60] == pytest.approx(0.1) and lrs[-1] == pytest.approx(0.01)


def _trained_parameters(name: str, kwargs: dict, fused: bool = False) -> torch.Tensor:
    torch.manual_seed(0)
    net = SeedCNN()
    images, labels = torch.randn(16, 3, 32, 32), torch.randint(0, 10, (16,))
    optimizer = build_optimizer(name, net.parameters(), 1e-3, kwargs, fused=fused)
    for _ in range(5):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(net(images), labels).backward()
        optimizer.step()
    return torch.cat([p.detach().flatten() for p in net.parameters()])


@pytest.mark.parametrize("name", sorted(IDENTICAL_FASTER_ON_CPU))
def test_the_faster_default_implementation_gives_bit_identical_results(name):
    # Asking for the implementation explicitly (foreach=False) switches the faster default off.
    assert torch.equal(_trained_parameters(name, {}), _trained_parameters(name, {"foreach": False}))


def test_fused_is_used_only_where_torch_has_it():
    adam = build_optimizer("adam", [torch.zeros(2, requires_grad=True)], 1e-3, fused=True)
    rmsprop = build_optimizer("rmsprop", [torch.zeros(2, requires_grad=True)], 1e-3, fused=True)
    assert adam.defaults["fused"] is True and not rmsprop.defaults.get("fused")
