"""The final weights' accuracy on a fixed subset of the training split: the train side of the generalization gap."""

import lightning as L
import torch

from optlab.data import CIFAR10DataModule
from optlab.run.module import ImageClassifier

TRAIN_SUBSET = 5000


def train_subset_indices(count: int, total: int) -> torch.Tensor:
    """The fixed random subset of the training split that the generalization gap's train accuracy is taken on."""
    return torch.randperm(total, generator=torch.Generator().manual_seed(0))[:count]


@torch.no_grad()
def train_subset_accuracy(model: ImageClassifier, datamodule: CIFAR10DataModule, trainer: L.Trainer,
                          count: int = TRAIN_SUBSET) -> float:
    """Accuracy of the final weights on a fixed random subset of the training split, evaluated like test:
    same batch transform, eval mode, and the Trainer's precision (its test-step autocast context).

    The running accuracy of the last epoch mixes many weight states (and augmentation), so a
    generalization gap built on it understates how well the final model fits its training data.
    """
    images, labels = datamodule.train_set.images, datamodule.train_set.labels
    subset = train_subset_indices(count, len(labels)).to(labels.device)
    was_training = model.training
    model.to(labels.device)  # Lightning moves the model back to the CPU when fit ends
    model.use_evaluation_weights()  # schedule-free optimizers: the averaged weights, as test uses
    model.eval()
    correct = 0
    with trainer.precision_plugin.test_step_context():
        for chunk in subset.split(datamodule.eval_batch_size):
            batch, _ = datamodule.on_after_batch_transfer((images[chunk], labels[chunk]), 0)
            correct += int((model(batch).argmax(1) == labels[chunk]).sum())
    model.train(was_training)
    return correct / len(subset)
