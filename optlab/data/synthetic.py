"""A small learnable stand-in for CIFAR-10, for smoke runs, demos and tests; used only when asked for."""

import torch
import torch.nn.functional as F

from optlab.data.arrays import ImageArrays

CLASSES = [f"pattern{i}" for i in range(10)]


def _split(prototypes: torch.Tensor, count: int, generator: torch.Generator, noise: float) -> tuple:
    labels = torch.randperm(count, generator=generator) % len(prototypes)
    # Each image: its class pattern, shifted (random 32×32 window of 40×40), dimmed, plus pixel noise.
    rows = torch.randint(0, 9, (count,), generator=generator)
    cols = torch.randint(0, 9, (count,), generator=generator)
    # Every 32×32 window of every prototype is a view: (class, row, col, channel, 32, 32).
    all_windows = prototypes.unfold(2, 32, 1).unfold(3, 32, 1).permute(0, 2, 3, 1, 4, 5)
    brightness = 0.5 + 0.5 * torch.rand(count, 1, 1, 1, generator=generator)
    # In place: a 50,000-image set is 600 MB of floats, and each temporary would cost as much again.
    images = torch.randn(count, 3, 32, 32, generator=generator).mul_(noise)
    images.add_(all_windows[labels, rows, cols].mul_(brightness))
    return images.clamp_(0, 1).mul_(255).round_().to(torch.uint8), labels


def make_synthetic(train_size: int, test_size: int | None = None, seed: int = 2024, noise: float = 0.25) -> ImageArrays:
    """Deterministic for a given size and seed: every run of a sweep sees the same images."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand(len(CLASSES), 3, 5, 5, generator=generator)
    prototypes = F.interpolate(coarse, size=40, mode="bilinear", align_corners=False)
    train = _split(prototypes, train_size, generator, noise)
    test = _split(prototypes, test_size or max(20, train_size // 5), generator, noise)
    return ImageArrays(train[0], train[1], test[0], test[1], list(CLASSES))
