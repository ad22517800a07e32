"""CIFAR-10 (or any same-layout image set) held in memory as uint8 tensors, served by a LightningDataModule."""

from optlab.data.datamodule import CIFAR10DataModule

__all__ = ["CIFAR10DataModule"]
