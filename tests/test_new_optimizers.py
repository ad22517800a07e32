"""The optimizers beyond torch's classics: Muon + AdamW, Adafactor, Lion, LAMB, SOAP, Prodigy, schedule-free."""

import lightning as L
import pytest
import torch

from optlab.data import CIFAR10DataModule
from optlab.optimizers.families import FAMILIES
from optlab.optimizers.muon import MuonWithAdamW, split_for_muon
from optlab.optimizers.registry import OPTIMIZERS, build_optimizer, optimizer_family, optimizer_state_bytes
from optlab.problems.seed_cnn import SeedCNN
from optlab.run.module import ImageClassifier

NEW = ["muon", "adafactor", "lion", "schedulefree_adamw", "schedulefree_sgd", "prodigy", "lamb", "soap"]
# SOAP's eigendecomposition of the 4096-wide fc1 side costs minutes on a CPU; 512 keeps the test fast.
TEST_ARGS = {"soap": {"max_precondition_dim": 512}}


def _steps(name: str, steps: int, channels_last: bool = False) -> tuple[torch.optim.Optimizer, list, list]:
    torch.manual_seed(0)
    net = SeedCNN().to(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    before = [p.detach().clone() for p in net.parameters()]
    optimizer = build_optimizer(name, net.parameters(), OPTIMIZERS[name].lr, TEST_ARGS.get(name))
    if hasattr(optimizer, "train"):
        optimizer.train()
    images, labels = torch.randn(8, 3, 32, 32), torch.randint(0, 10, (8,))
    for _ in range(steps):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(net(images), labels).backward()
        optimizer.step()
    return optimizer, before, list(net.parameters())


@pytest.mark.parametrize("name", NEW)
def test_a_step_moves_every_parameter_and_the_state_is_counted(name):
    # SOAP's first step only sets up its preconditioner (as in the paper), so every entry takes two.
    optimizer, before, after = _steps(name, 2)
    moved = [not torch.equal(b, a.detach()) for b, a in zip(before, after)]
    assert all(moved), f"{name}: {moved.count(False)} parameter tensors did not move"
    params = sum(p.numel() * 4 for p in after)
    # Adafactor factors its second moment into row and column sums; every other one keeps at least one
    # full-size buffer per parameter (SOAP's eigenbases are in lists, which must be counted too).
    if name == "adafactor":
        assert 0 < optimizer_state_bytes(optimizer) < params // 10
    else:
        assert optimizer_state_bytes(optimizer) >= params
    assert OPTIMIZERS[name].family in FAMILIES


def test_every_registry_entry_declares_a_family_and_a_grid_around_its_default_lr():
    for name, spec in OPTIMIZERS.items():
        assert spec.family in FAMILIES, name
        grid = spec.lr_grid
        assert len(grid) >= 4 and list(grid) == sorted(set(grid)), name
        assert all(1.5 < b / a < 4 for a, b in zip(grid, grid[1:])), f"{name}: not log-spaced"
    assert OPTIMIZERS["prodigy"].lr == 1.0 and 1.0 in OPTIMIZERS["prodigy"].lr_grid
    assert OPTIMIZERS["muon"].lr == 0.02 and OPTIMIZERS["adam"].lr == 1e-3
    assert optimizer_family("muon") == "orthogonalized" and optimizer_family("prodigy") == "lr-free"
    assert optimizer_family("muon", {"muon": "adaptive"}) == "adaptive"


def test_muon_takes_the_hidden_matrices_and_adamw_the_input_layer_head_and_biases():
    net = SeedCNN()
    muon, adamw = split_for_muon(net.parameters())
    names = {id(p): n for n, p in net.named_parameters()}
    assert {names[id(p)] for p in muon} == {"features.3.weight", "classifier.0.weight"}
    assert {names[id(p)] for p in adamw} == {"features.0.weight", "features.0.bias", "features.3.bias",
                                             "classifier.0.bias", "classifier.2.weight", "classifier.2.bias"}
    optimizer = build_optimizer("muon", net.parameters(), 0.02)
    assert [g["algorithm"] for g in optimizer.param_groups] == ["muon", "adamw"]
    assert optimizer.param_groups[0]["lr"] == 0.02 and optimizer.param_groups[1]["lr"] == 1e-3


def test_muon_state_counts_both_halves_exactly():
    optimizer, _, params = _steps("muon", 1)
    hidden, rest = split_for_muon(params)
    momentum = sum(p.numel() * 4 for p in hidden)
    moments = sum(2 * p.numel() * 4 + 4 for p in rest)  # exp_avg, exp_avg_sq and a float32 step per tensor
    assert optimizer_state_bytes(optimizer) == momentum + moments


def test_muons_hidden_update_is_torchs_muon_update():
    torch.manual_seed(1)
    first, hidden, head = torch.randn(20, 3), torch.randn(30, 20), torch.randn(5, 30)
    params = [w.clone().requires_grad_() for w in (first, hidden, head)]
    reference = hidden.clone().requires_grad_()
    for p in params:
        p.grad = torch.randn_like(p)
    reference.grad = params[1].grad.clone()
    MuonWithAdamW(params, lr=0.02).step()
    torch.optim.Muon([reference], lr=0.02, weight_decay=0.0).step()
    ours, torchs = params[1].detach() - hidden, reference.detach() - hidden
    # torch orthogonalizes in bfloat16; on a CPU optlab does it in float32, so they agree to bfloat16's precision.
    assert torch.allclose(ours, torchs, atol=0.05 * torchs.abs().max())
    # The input layer went to AdamW: its first step moves every weight by lr (Adam's normalized first step).
    assert torch.allclose((params[0].detach() - first).abs(), torch.full_like(first, 1e-3), rtol=1e-3)


def test_muon_updates_a_channels_last_network_as_a_contiguous_one():
    plain = _steps("muon", 2)[2]
    channels_last = _steps("muon", 2, channels_last=True)[2]
    assert channels_last[0].is_contiguous(memory_format=torch.channels_last)
    for a, b in zip(plain, channels_last):
        assert torch.allclose(a, b, atol=1e-5)


def _flat(module: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten().clone() for p in module.parameters()])


class WeightSpy(L.Callback):
    """The weights each stage sees."""

    def __init__(self) -> None:
        self.seen: dict[str, torch.Tensor] = {}

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.seen["train"] = _flat(pl_module)

    def on_validation_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0):
        self.seen["val"] = _flat(pl_module)

    def on_test_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0):
        self.seen["test"] = _flat(pl_module)


@pytest.mark.parametrize("name", ["schedulefree_adamw", "schedulefree_sgd"])
def test_schedule_free_runs_evaluate_the_averaged_weights_and_train_the_interpolated_ones(name):
    L.seed_everything(0)
    model = ImageClassifier(optimizer=name, lr=OPTIMIZERS[name].lr / 10)
    spy = WeightSpy()
    datamodule = CIFAR10DataModule(dataset="synthetic", synthetic_size=200, batch_size=16)
    trainer = L.Trainer(accelerator="cpu", max_epochs=1, limit_train_batches=4, limit_val_batches=1, logger=False,
                        callbacks=[spy], enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False)
    trainer.fit(model, datamodule=datamodule)
    optimizer = trainer.optimizers[0]
    assert not optimizer.param_groups[0]["train_mode"], "fit must end on the evaluation weights"
    evaluation = _flat(model)
    assert torch.equal(spy.seen["val"], evaluation)  # nothing trained after validation
    optimizer.train()  # back to the training point (up to rounding); the test stage must switch again itself
    assert torch.allclose(_flat(model), spy.seen["train"], atol=1e-6)
    assert not torch.allclose(spy.seen["val"], spy.seen["train"], atol=1e-6)
    trainer.test(model, datamodule=datamodule, verbose=False)
    assert torch.allclose(spy.seen["test"], evaluation, atol=1e-6)
