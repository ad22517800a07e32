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


def per_image_standardization(images: Tensor) -> Tensor:
    """TF's per_image_standardization: each image to mean 0, std 1 over all its pixels and channels.

    The std is floored at 1/sqrt(pixels × channels), as TF does, so a flat image does not divide by zero.
    """
    images = images.float()
    count = images[0].numel()
    mean = images.mean(dim=(1, 2, 3), keepdim=True)
    std = images.std(dim=(1, 2, 3), keepdim=True, correction=0).clamp_min(count ** -0.5)
    return (images - mean) / std


def _uniform(count: int, low: float, high: float, generator: torch.Generator, device: torch.device) -> Tensor:
    return torch.empty(count, device=device).uniform_(low, high, generator=generator)[:, None, None, None]


def adjust_saturation(images: Tensor, factor: Tensor) -> Tensor:
    """Scale each pixel's HSV saturation by `factor` (clipped to 1), keeping hue and value: TF's adjust_saturation.

    In HSV every channel is v·(1 − s·g(hue)), so scaling s to s' moves each channel to v − (v − x)·s'/s.
    """
    value = images.amax(dim=1, keepdim=True)
    spread = value - images.amin(dim=1, keepdim=True)
    saturation = torch.where(value > 0, spread / value.clamp_min(1e-12), torch.zeros_like(value))
    scaled = (saturation * factor).clamp(0.0, 1.0)
    ratio = torch.where(saturation > 0, scaled / saturation.clamp_min(1e-12), torch.ones_like(saturation))
    return value - (value - images) * ratio


def deepobs_augment(images: Tensor, generator: torch.Generator) -> Tensor:
    """DeepOBS's CIFAR-10 training augmentation (deepobs/tensorflow/datasets/cifar10.py), per image:

    pad to 36×36 and crop a random 32×32 window, flip left-right, add a brightness delta in ±63/255, scale the
    saturation by [0.5, 1.5] and the contrast by [0.2, 1.8]. As there, pixels stay on the 0–255 scale (so the
    brightness delta is tiny) and nothing is clipped; per-image standardization follows.
    """
    images = random_flip(random_crop(images, generator, padding=2), generator).float()
    count, device = len(images), images.device
    images = images + _uniform(count, -63 / 255, 63 / 255, generator, device)
    images = adjust_saturation(images, _uniform(count, 0.5, 1.5, generator, device))
    channel_mean = images.mean(dim=(2, 3), keepdim=True)
    return (images - channel_mean) * _uniform(count, 0.2, 1.8, generator, device) + channel_mean


AUGMENTATIONS = {"crop_flip": augment, "deepobs": deepobs_augment}
PREPROCESSINGS = {"half": normalize, "per_image_standardization": per_image_standardization}
