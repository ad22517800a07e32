"""CIFAR-10 (or any same-layout image set) held in memory as uint8 tensors, served by a LightningDataModule."""

from typing import Any

__all__ = ["CIFAR10DataModule"]


def __getattr__(name: str) -> Any:
    # Imported on first use: the DataModule brings Lightning, which the command line's checks do without.
    if name == "CIFAR10DataModule":
        from optlab.data.datamodule import CIFAR10DataModule

        return CIFAR10DataModule
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
