"""The seed document's CNN, kept as a plain nn.Module so any LightningModule can wrap it."""

from torch import Tensor, nn

from optlab.problems.problem import Problem


class SeedCNN(nn.Module):
    """conv 3→32, pool, conv 32→64, pool, fc 4096→512, fc 512→classes (the seed's Answer 8 model)."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2, 2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2, 2),
        )
        self.classifier = nn.Sequential(
            nn.Linear(64 * 8 * 8, 512),
            nn.ReLU(),
            nn.Linear(512, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        # flatten, not view: channels_last activations are not contiguous in NCHW order.
        return self.classifier(self.features(x).flatten(1))


PROBLEM = Problem(
    name="seed_cnn",
    summary="the seed's 2-conv CNN (2.1 M parameters), the original tutorial's protocol",
    build_network=SeedCNN,
    batch_size=64,
    max_epochs=10,
    augment=False,
    target_acc=0.6,
    source="the seed tutorial: batch 64, 10 epochs, no augmentation, Normalize(0.5, 0.5, 0.5)",
)
