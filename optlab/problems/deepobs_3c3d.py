"""DeepOBS's cifar10_3c3d: three conv and three dense layers, L2 0.002, DeepOBS's augmentation, batch 128.

Source: fsschneider/DeepOBS (MIT), deepobs/tensorflow/testproblems/_3c3d.py and cifar10_3c3d.py (the network
and its regularizer), deepobs/tensorflow/datasets/cifar10.py (augmentation and per-image standardization),
deepobs/pytorch/testproblems/testproblems_modules.py (their PyTorch port, net_cifar10_3c3d).

Where PyTorch differs from their TensorFlow code:
- TF's "same" max-pooling (3×3, stride 2) pads only at the bottom and right; here ceil_mode=True takes the
  same windows (28→14, 12→6, 6→3), and after a ReLU the padding value (-inf in TF) never wins anyway.
- Initial weights follow the same distributions (Glorot normal for convs, Glorot uniform for dense layers,
  zero biases) but not TF's random numbers; TF's glorot_normal is truncated at two standard deviations and
  rescaled, torch's xavier_normal_ is not (``glorot_normal`` below truncates as TF does).
- The data order is optlab's (seeded, the same for every optimizer), not TF's 20,000-image shuffle buffer,
  and an epoch keeps the last partial batch where DeepOBS drops it.
"""

import math

import torch
from torch import Tensor, nn

from optlab.problems.problem import Problem


def glorot_normal_(weight: Tensor) -> Tensor:
    """TF's glorot_normal: a normal truncated at ±2 std, scaled so the kept part has std sqrt(2/(fan_in+fan_out))."""
    fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(weight)
    # 0.8796... is the std of a unit normal truncated at ±2 (TF's VarianceScaling divides by it).
    std = math.sqrt(2.0 / (fan_in + fan_out)) / 0.87962566103423978
    with torch.no_grad():
        return nn.init.trunc_normal_(weight, 0.0, std, -2 * std, 2 * std)


class DeepOBS3c3d(nn.Module):
    """conv5×5 64 (valid), pool; conv3×3 96 (valid), pool; conv3×3 128 (same), pool; fc 1152→512→256→classes."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 5)
        self.conv2 = nn.Conv2d(64, 96, 3)
        self.conv3 = nn.Conv2d(96, 128, 3, padding=1)
        # TF "same" pooling of 3×3 windows at stride 2: ceil_mode gives the same windows.
        self.pool = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.relu = nn.ReLU()
        self.dense1 = nn.Linear(3 * 3 * 128, 512)
        self.dense2 = nn.Linear(512, 256)
        self.dense3 = nn.Linear(256, num_classes)
        for conv in (self.conv1, self.conv2, self.conv3):
            glorot_normal_(conv.weight)
            nn.init.zeros_(conv.bias)
        for dense in (self.dense1, self.dense2, self.dense3):
            nn.init.xavier_uniform_(dense.weight)
            nn.init.zeros_(dense.bias)

    def forward(self, x: Tensor) -> Tensor:
        x = self.pool(self.relu(self.conv1(x)))
        x = self.pool(self.relu(self.conv2(x)))
        x = self.pool(self.relu(self.conv3(x)))
        # TF flattens NHWC, torch NCHW: the same features in another order, which only permutes dense1's rows.
        x = self.relu(self.dense1(x.flatten(1)))
        x = self.relu(self.dense2(x))
        return self.dense3(x)


PROBLEM = Problem(
    name="deepobs_3c3d",
    summary="DeepOBS's cifar10_3c3d (895,210 parameters) with its L2 term, augmentation and budget",
    build_network=DeepOBS3c3d,
    batch_size=128,
    max_epochs=100,
    augment=True,
    # DeepOBS sets no target; its published best-lr runs end near 84-85% test accuracy and pass 80% after
    # 17-26 of their 100 epochs, so 80% separates fast from slow optimizers within the budget.
    target_acc=0.8,
    l2=0.002,
    augmentation="deepobs",
    preprocessing="per_image_standardization",
    source="DeepOBS cifar10_3c3d: batch 128, 100 epochs, L2 0.002 on weights, their CIFAR-10 augmentation",
)
