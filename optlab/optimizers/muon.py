"""Muon on the hidden weight matrices and AdamW on the rest, as one torch optimizer.

torch.optim.Muon takes 2-D parameters only, and Muon is meant for hidden layers anyway. One optimizer object
holding both halves keeps Lightning's automatic optimization, checkpoints, resume and the optimizer-state size
working as for any other optimizer: its param groups and its state hold both halves.

Grouping rule (that of the Muon reference implementation and of the CIFAR-10 speed records that use it):
- a parameter with 2 or more dimensions is a weight matrix; a conv filter bank out × in × kh × kw counts as
  the matrix out × (in·kh·kw);
- of the weight matrices, the first in the module's registration order (the input layer, which sees pixels)
  and the last (the classifier head) go to AdamW, with every parameter of fewer dimensions (biases, norms);
- the hidden weight matrices left go to Muon.
For the seed CNN: conv2 and fc1 weights to Muon; conv1, fc2 and every bias to AdamW.
"""

import math
from collections.abc import Iterable

import torch
from torch import Tensor
from torch.optim import Optimizer
from torch.optim.adamw import adamw as adamw_update

# torch.optim.Muon's quintic Newton-Schulz coefficients and norm floor.
NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)
NS_EPS = 1e-7

MUON, ADAMW = "muon", "adamw"


def split_for_muon(params: Iterable[Tensor]) -> tuple[list[Tensor], list[Tensor]]:
    """(hidden weight matrices for Muon, everything else for AdamW), by the rule in this module's docstring."""
    params = [p for p in params if p.requires_grad]
    matrices = [i for i, p in enumerate(params) if p.ndim >= 2]
    hidden = set(matrices[1:-1])
    return [p for i, p in enumerate(params) if i in hidden], [p for i, p in enumerate(params) if i not in hidden]


def orthogonalize(update: Tensor, steps: int) -> Tensor:
    """The nearest semi-orthogonal matrix to update, approximately, by torch.optim.Muon's Newton-Schulz iteration.

    In bfloat16 on a GPU, as torch does; in float32 elsewhere, because CPU bfloat16 matmuls are some 50x slower
    (one step of the seed CNN's 512 x 4096 layer took a minute).
    """
    a, b, c = NS_COEFFICIENTS
    x = update.bfloat16() if update.is_cuda else update.float()
    transposed = x.size(0) > x.size(1)
    if transposed:
        x = x.T
    x = x / x.norm().clamp(min=NS_EPS)  # spectral norm at most 1
    for _ in range(steps):
        gram = x @ x.T
        x = torch.addmm(x, torch.addmm(gram, gram, gram, beta=b, alpha=c), x, beta=a)
    return x.T if transposed else x


def _matrix(tensor: Tensor) -> Tensor:
    """The tensor as out × rest: a view when it is contiguous, else a copy."""
    return tensor.reshape(tensor.shape[0], -1)


class MuonWithAdamW(Optimizer):
    """Muon (lr, momentum, nesterov, ns_steps) for hidden matrices, AdamW (adamw_lr, adamw_betas) for the rest.

    weight_decay is decoupled and applies to both halves. A learning-rate schedule scales both lrs alike.
    """

    def __init__(self, params: Iterable[Tensor], lr: float = 0.02, momentum: float = 0.95, nesterov: bool = True,
                 ns_steps: int = 5, adamw_lr: float = 1e-3, adamw_betas: tuple[float, float] = (0.9, 0.999),
                 adamw_eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        hidden, rest = split_for_muon(params)
        # Muon's checks on its own hyperparameters (torch raises ValueError on bad ones).
        torch.optim.Muon([torch.zeros(1, 1, requires_grad=True)], lr=lr, momentum=momentum, nesterov=nesterov,
                         ns_steps=ns_steps, weight_decay=weight_decay)
        torch.optim.AdamW([torch.zeros(1, requires_grad=True)], lr=adamw_lr, betas=adamw_betas, eps=adamw_eps,
                          weight_decay=weight_decay)
        groups = []
        if hidden:  # first, so param_groups[0]["lr"] is the lr the grid names
            groups.append({"params": hidden, "algorithm": MUON, "lr": lr})
        if rest:
            groups.append({"params": rest, "algorithm": ADAMW, "lr": adamw_lr})
        defaults = {"lr": lr, "momentum": momentum, "nesterov": nesterov, "ns_steps": ns_steps, "betas": adamw_betas,
                    "eps": adamw_eps, "weight_decay": weight_decay}
        super().__init__(groups, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if params:
                (self._muon_step if group["algorithm"] == MUON else self._adamw_step)(group, params)
        return loss

    def _muon_step(self, group: dict, params: list[Tensor]) -> None:
        lr, momentum = group["lr"], group["momentum"]
        for param in params:
            state = self.state[param]
            grad = _matrix(param.grad)
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = torch.zeros_like(grad, memory_format=torch.contiguous_format)
            buffer = state["momentum_buffer"]
            # torch.optim.Muon's update: momentum, Nesterov look-ahead, orthogonalize, scale for the shape.
            buffer.lerp_(grad, 1 - momentum)
            update = orthogonalize(grad.lerp(buffer, momentum) if group["nesterov"] else buffer, group["ns_steps"])
            rows, columns = grad.shape
            param.mul_(1 - lr * group["weight_decay"])
            param.add_(update.reshape(param.shape).to(param.dtype), alpha=-lr * math.sqrt(max(1, rows / columns)))

    def _adamw_step(self, group: dict, params: list[Tensor]) -> None:
        for param in params:
            state = self.state[param]
            if not state:
                state["step"] = torch.tensor(0.0)
                state["exp_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
                state["exp_avg_sq"] = torch.zeros_like(param, memory_format=torch.preserve_format)
        beta1, beta2 = group["betas"]
        adamw_update(params, [p.grad for p in params], [self.state[p]["exp_avg"] for p in params],
                     [self.state[p]["exp_avg_sq"] for p in params], [], [self.state[p]["step"] for p in params],
                     foreach=None, amsgrad=False, beta1=beta1, beta2=beta2, lr=group["lr"],
                     weight_decay=group["weight_decay"], eps=group["eps"], maximize=False)
