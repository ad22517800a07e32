"""Preprocessing applied to whole batches on the training device, instead of per image on the CPU."""

import torch
import torch.nn.functional as F
from torch import Tensor


def normalize(images: Tensor) -> Tensor:
    """uint8 → float in [-1, 1]: the seed's ToTensor() then Normalize(0.5, 0.5, 0.5), in one step."""
    return images.float().div_(127.5).sub_(1.0)


def random_flip(images: Tensor, generator: torch.Generator) -> Tensor:
    """Mirror each image left-right with probability 1/2 (RandomHorizontalFlip)."""
    flip = torch.rand(len(images), generator=generator, device=images.device) < 0.5
    return torch.where(flip[:, None, None, None], images.flip(-1), images)


def random_crop(images: Tensor, generator: torch.Generator, padding: int = 4) -> Tensor:
    """Zero-pad by `padding`, then take a random window of the original size (RandomCrop(32, padding=4))."""
    count, channels, height, width = images.shape
    padded = F.pad(images, (padding,) * 4)
    top = torch.randint(0, 2 * padding + 1, (count,), generator=generator, device=images.device)
    left = torch.randint(0, 2 * padding + 1, (count,), generator=generator, device=images.device)
    rows = (top[:, None] + torch.arange(height, device=images.device))[:, None, :, None]
    cols = (left[:, None] + torch.arange(width, device=images.device))[:, None, None, :]
    batch = torch.arange(count, device=images.device)[:, None, None, None]
    channel = torch.arange(channels, device=images.device)[None, :, None, None]
    return padded[batch, channel, rows, cols]


def augment(images: Tensor, generator: torch.Generator) -> Tensor:
    return random_flip(random_crop(images, generator), generator)
