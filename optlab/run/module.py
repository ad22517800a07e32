"""The LightningModule: the problem's network, its metrics, and an optimizer built from its own hyperparameters."""

from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor
from torchmetrics import MaxMetric
from torchmetrics.classification import MulticlassAccuracy

from optlab.optimizers.registry import build_optimizer, check_optimizer_args
from optlab.optimizers.schedule_free import use_evaluation_weights, use_training_weights
from optlab.problems import DEFAULT_PROBLEM, get_problem
from optlab.schedules import build_schedule, check_schedule


class ImageClassifier(L.LightningModule):
    """Trains the named problem's network with the optimizer named in its hyperparameters; logs under stable keys."""

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
        cuda_graphs: str = "off",
        problem: str = DEFAULT_PROBLEM,
        l2: float = 0.0,
    ) -> None:
        super().__init__()
        check_optimizer_args(optimizer, lr, optimizer_kwargs)
        check_schedule(schedule, warmup_epochs)
        # logger=False: the sweep logs hyperparameters once, together with the final metrics (HParams tab).
        self.save_hyperparameters(logger=False)
        self.net = get_problem(problem).build_network(num_classes)
        if channels_last:
            self.net = self.net.to(memory_format=torch.channels_last)
        # The L2 term's parameters: weights of convs and dense layers, not biases or norm layers (DeepOBS's rule).
        self._l2_weights = [p for p in self.net.parameters() if p.ndim > 1] if l2 else []
        # validate_args=False: labels are checked once when the data is read, not per batch.
        self.train_acc = MulticlassAccuracy(num_classes, average="micro", validate_args=False)
        self.val_acc = MulticlassAccuracy(num_classes, average="micro", validate_args=False)
        self.test_acc = MulticlassAccuracy(num_classes, average="micro", validate_args=False)
        self.best_val_acc = MaxMetric()
        self._compiled = None
        self._graphed_shape: torch.Size | None = None
        self._graphs_decided = False
        self._evaluation_weights_in_use = True  # unknown at the start (a resumed optimizer may be in eval mode)

    def configure_model(self) -> None:
        if self.hparams.compile_model and self._compiled is None:
            # Kept out of the module tree so checkpoints hold the plain network's weights.
            self.__dict__["_compiled"] = torch.compile(self.net, mode=self.hparams.compile_mode)

    def forward(self, x: Tensor) -> Tensor:
        if self._graphed_shape is not None and x.shape != self._graphed_shape:
            # A graph replays one input shape; the epoch's short last batch runs eagerly.
            return type(self.net).forward(self.net, x)
        return (self._compiled if self._compiled is not None else self.net)(x)

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        images, labels = batch
        if self._graphed_shape is None and self._wants_cuda_graphs(images):
            self._capture_cuda_graphs(images)
        logits = self(images)
        loss = F.cross_entropy(logits, labels)
        if self._l2_weights:
            # Added to the loss as DeepOBS adds its regularizer: the optimizer (Adam too) sees its gradient.
            loss = loss + 0.5 * self.hparams.l2 * torch.stack([w.pow(2).sum() for w in self._l2_weights]).sum()
        # Per step only what costs no host sync and little host time: the metric accumulates and the loss is
        # returned. train/loss is not self.log'ed here: LossMonitor writes it, 25 steps at a time, which costs
        # measurably less host time per step (BENCHMARKS.md, "train/loss: self.log or the loss monitor").
        self.train_acc.update(logits.detach(), labels)
        return loss

    @property
    def replays_cuda_graphs(self) -> bool:
        """Whether training steps replay the captured graphs (decided at the first step)."""
        return self._graphed_shape is not None

    def _wants_cuda_graphs(self, images: Tensor) -> bool:
        """on: always (the sweep checked it can); auto: where graphs are known to work and pay, one CUDA device
        in fp32 without torch.compile. Decided once, at the first step, when the device is known."""
        mode = self.hparams.cuda_graphs
        if mode == "on":
            return True
        if mode != "auto" or self._graphs_decided:
            return False
        self._graphs_decided = True
        return (images.is_cuda and self.trainer.world_size == 1 and not self.hparams.compile_model
                and str(self.trainer.precision) in ("32-true", "32"))

    def _capture_cuda_graphs(self, images: Tensor) -> None:
        """Record the network's training forward and backward as two CUDA graphs, replayed every step.

        A small CNN at batch 64 spends most of a step launching kernels from the host; a graph launches the
        forward's (and the backward's) dozens of kernels at once. The numbers are those of the eager network:
        the same kernels on the same inputs. Capturing runs a few warm-up passes, so buffers (batch-norm
        statistics) are put back afterwards.
        """
        buffers = [buffer.clone() for buffer in self.net.buffers()]
        torch.cuda.make_graphed_callables(self.net, (images.detach().clone(),))
        with torch.no_grad():
            for buffer, saved in zip(self.net.buffers(), buffers):
                buffer.copy_(saved)
        self._graphed_shape = images.shape

    def on_train_epoch_start(self) -> None:
        # The epoch's accuracy, logged once as the metric object: Lightning computes it when the epoch ends (so
        # callbacks read it from callback_metrics in their epoch-end hooks), writes it and resets the metric.
        self.log("train/acc", self.train_acc, on_step=False, on_epoch=True)

    def on_train_epoch_end(self) -> None:
        # Before ModelCheckpoint writes last.ckpt: that file holds the evaluation weights (the optimizer state
        # records the mode, so a resumed run switches back exactly as an unbroken one does).
        self.use_evaluation_weights()

    # Schedule-free optimizers: train at the interpolated weights, evaluate and checkpoint the averaged ones.
    # Training weights are restored at the first step after any switch to evaluation (a resumed run starts
    # there too), so a step with nothing to switch costs one flag test on the hot path.
    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        if self._evaluation_weights_in_use:
            use_training_weights(self._optimizers())
            self._evaluation_weights_in_use = False

    def on_validation_start(self) -> None:
        self.use_evaluation_weights()

    def on_test_start(self) -> None:
        self.use_evaluation_weights()

    def on_predict_start(self) -> None:
        self.use_evaluation_weights()

    def on_fit_end(self) -> None:
        self.use_evaluation_weights()

    def use_evaluation_weights(self) -> None:
        """Also for evaluations outside a Trainer loop (the train-subset accuracy)."""
        use_evaluation_weights(self._optimizers())
        self._evaluation_weights_in_use = True

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
