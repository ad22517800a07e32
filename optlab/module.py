"""The LightningModule: the CNN, its metrics, and an optimizer built from its own hyperparameters."""

from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor
from torchmetrics import MaxMetric
from torchmetrics.classification import MulticlassAccuracy

from optlab.optimizers.registry import build_optimizer, check_optimizer_args
from optlab.optimizers.schedule_free import use_evaluation_weights, use_training_weights
from optlab.problems.seed_cnn import SeedCNN
from optlab.schedules import build_schedule, check_schedule


class ImageClassifier(L.LightningModule):
    """Trains SeedCNN with the optimizer named in its hyperparameters; logs under stable keys."""

    def __init__(
        self,
        optimizer: str = "adam",
        lr: float = 1e-3,
        optimizer_kwargs: dict[str, Any] | None = None,
        schedule: str = "none",
        warmup_epochs: float = 0.0,
        num_classes: int = 10,
        channels_last: bool = False,
        compile_model: bool = False,
        compile_mode: str = "default",
        fused: bool = False,
    ) -> None:
        super().__init__()
        check_optimizer_args(optimizer, lr, optimizer_kwargs)
        check_schedule(schedule, warmup_epochs)
        # logger=False: the sweep logs hyperparameters once, together with the final metrics (HParams tab).
        self.save_hyperparameters(logger=False)
        self.net = SeedCNN(num_classes)
        if channels_last:
            self.net = self.net.to(memory_format=torch.channels_last)
        # validate_args=False: labels are checked once when the data is read, not per batch.
        self.train_acc = MulticlassAccuracy(num_classes, average="micro", validate_args=False)
        self.val_acc = MulticlassAccuracy(num_classes, average="micro", validate_args=False)
        self.test_acc = MulticlassAccuracy(num_classes, average="micro", validate_args=False)
        self.best_val_acc = MaxMetric()
        self._compiled = None

    def configure_model(self) -> None:
        if self.hparams.compile_model and self._compiled is None:
            # Kept out of the module tree so checkpoints hold the plain network's weights.
            self.__dict__["_compiled"] = torch.compile(self.net, mode=self.hparams.compile_mode)

    def forward(self, x: Tensor) -> Tensor:
        return (self._compiled if self._compiled is not None else self.net)(x)

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        images, labels = batch
        logits = self(images)
        loss = F.cross_entropy(logits, labels)
        # Per step only what costs no host sync and little host time: the metric accumulates; RunMonitor
        # reads the returned loss and logs it as train/loss every few steps.
        self.train_acc.update(logits.detach(), labels)
        return loss

    def on_train_epoch_end(self) -> None:
        # Runs after RunMonitor's epoch-end hook, which records the same accuracy for the results, and before
        # ModelCheckpoint writes last.ckpt: that file holds the evaluation weights (the optimizer state records
        # the mode, so a resumed run switches back exactly as an unbroken one does).
        self.log("train/acc", self.train_acc.compute())
        self.train_acc.reset()
        use_evaluation_weights(self._optimizers())

    # Schedule-free optimizers: train at the interpolated weights, evaluate and checkpoint the averaged ones.
    # Switching is idempotent, so every entry to training or evaluation simply asks for the weights it needs.
    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        use_training_weights(self._optimizers())

    def on_validation_start(self) -> None:
        use_evaluation_weights(self._optimizers())

    def on_test_start(self) -> None:
        use_evaluation_weights(self._optimizers())

    def on_predict_start(self) -> None:
        use_evaluation_weights(self._optimizers())

    def on_fit_end(self) -> None:
        use_evaluation_weights(self._optimizers())

    def use_evaluation_weights(self) -> None:
        """For evaluations outside a Trainer loop (the train-subset accuracy)."""
        use_evaluation_weights(self._optimizers())

    def _optimizers(self) -> list:
        trainer = self._trainer
        return list(trainer.optimizers) if trainer is not None else []

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        images, labels = batch
        logits = self(images)
        self.val_acc(logits, labels)
        self.log("val/loss", F.cross_entropy(logits, labels), on_epoch=True, sync_dist=True)
        self.log("val/acc", self.val_acc, on_epoch=True, prog_bar=True)

    def on_validation_epoch_end(self) -> None:
        if not self.trainer.sanity_checking:
            self.best_val_acc(self.val_acc.compute())
            self.log("val/best_acc", self.best_val_acc.compute())

    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        images, labels = batch
        logits = self(images)
        self.test_acc(logits, labels)
        self.log("test/loss", F.cross_entropy(logits, labels), on_epoch=True, sync_dist=True)
        self.log("test/acc", self.test_acc, on_epoch=True)

    def configure_optimizers(self) -> Any:
        hp = self.hparams
        optimizer = build_optimizer(hp.optimizer, self.parameters(), hp.lr, hp.optimizer_kwargs, fused=hp.fused)
        total_steps = int(self.trainer.estimated_stepping_batches)
        max_epochs = max(self.trainer.max_epochs or 1, 1)
        warmup_steps = round(hp.warmup_epochs * total_steps / max_epochs)
        schedule = build_schedule(hp.schedule, optimizer, total_steps, warmup_steps)
        if schedule is None:
            return optimizer
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}
