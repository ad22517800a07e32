"""The in-memory form every source is read into: uint8 images (N×3×H×W) and int64 labels."""

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor


@dataclass
class ImageArrays:
    """A whole dataset as tensors: small enough for CIFAR-sized data to live on the training device."""

    train_images: Tensor
    train_labels: Tensor
    test_images: Tensor
    test_labels: Tensor
    classes: list[str]

    @staticmethod
    def from_numpy(train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray],
                   classes: list[str]) -> "ImageArrays":
        """From N×H×W×3 uint8 arrays (the on-disk orientation) and label sequences."""

        def images(array: np.ndarray) -> Tensor:
            return torch.from_numpy(np.ascontiguousarray(array)).permute(0, 3, 1, 2).contiguous()

        def labels(values) -> Tensor:
            return torch.as_tensor(np.asarray(values), dtype=torch.int64)

        return ImageArrays(images(train[0]), labels(train[1]), images(test[0]), labels(test[1]), list(classes))

    def to_dict(self) -> dict:
        return {"train_images": self.train_images, "train_labels": self.train_labels,
                "test_images": self.test_images, "test_labels": self.test_labels, "classes": self.classes}
