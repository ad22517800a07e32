"""What a test problem is: a network and the protocol it is trained with by default."""

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn


@dataclass(frozen=True)
class Problem:
    """A network factory plus the defaults a sweep uses for it unless a flag says otherwise.

    `augment` says whether augmentation is on by default; `augmentation` names the pipeline that `--augment`
    turns on. `l2` is the factor of the L2 term l2/2 · Σ w² over the weights (not biases, not norm layers)
    added to the training loss, as DeepOBS adds its regularizer.
    """

    name: str
    summary: str
    build_network: Callable[[int], nn.Module]
    batch_size: int
    max_epochs: int
    augment: bool
    target_acc: float
    l2: float = 0.0
    augmentation: str = "crop_flip"
    preprocessing: str = "half"
    source: str = ""

    def defaults(self) -> dict[str, object]:
        """The protocol settings a flag can override, by SweepConfig field name."""
        return {"batch_size": self.batch_size, "max_epochs": self.max_epochs, "augment": self.augment,
                "target_acc": self.target_acc, "l2": self.l2}
