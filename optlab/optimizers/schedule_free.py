"""Optimizers with separate training and evaluation weights (schedule-free methods, some plug-ins).

They expose optimizer.train() / optimizer.eval(): the parameters hold the interpolated point while training
and the averaged point, the one to evaluate and to save, after eval(). Any optimizer with both methods is
switched, so a plug-in of this kind needs nothing more.
"""

from collections.abc import Iterable

from torch.optim import Optimizer


def has_evaluation_weights(optimizer: Optimizer) -> bool:
    return callable(getattr(optimizer, "train", None)) and callable(getattr(optimizer, "eval", None))


def use_training_weights(optimizers: Iterable[Optimizer]) -> None:
    for optimizer in optimizers:
        if has_evaluation_weights(optimizer):
            optimizer.train()


def use_evaluation_weights(optimizers: Iterable[Optimizer]) -> None:
    for optimizer in optimizers:
        if has_evaluation_weights(optimizer):
            optimizer.eval()
