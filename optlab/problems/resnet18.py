"""ResNet-18 in its CIFAR form (He et al., 2016, as commonly adapted to 32×32 images): 3×3 stem, no max-pool.

The target follows AlgoPerf's CIFAR-10 workload (mlcommons/algorithmic-efficiency, workloads/cifar): 85%
validation accuracy, with 45,000 training and 5,000 validation images, as optlab's default split.
"""

from torch import Tensor, nn

from optlab.problems.problem import Problem


class BasicBlock(nn.Module):
    """Two 3×3 convs with batch norm and a shortcut (a strided 1×1 conv where the shape changes)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                                          nn.BatchNorm2d(out_channels))

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNet18(nn.Module):
    """Stem conv 3×3 64; four stages of two BasicBlocks (64, 128, 256, 512 channels); global average pool; fc."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True))
        stages, channels = [], 64
        for width, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            stages += [BasicBlock(channels, width, stride), BasicBlock(width, width, 1)]
            channels = width
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.pool(self.stages(self.stem(x))).flatten(1))


PROBLEM = Problem(
    name="resnet18",
    summary="ResNet-18, CIFAR variant (11.2 M parameters), crop+flip augmentation, L2 5e-4, 85% target",
    build_network=ResNet18,
    batch_size=128,
    max_epochs=30,
    augment=True,
    target_acc=0.85,
    # The customary CIFAR ResNet weight decay, here as an L2 term on conv and dense weights.
    l2=5e-4,
    source="target from AlgoPerf's CIFAR-10 workload (85% validation accuracy); batch 128, 30 epochs, crop+flip",
)
