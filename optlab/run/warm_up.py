"""One training and one evaluation step of a throwaway copy of the module, before a run's memory baseline."""

import copy

import lightning as L
import torch

from optlab.data.batch_transforms import normalize


def warm_up(trainer: L.Trainer, pl_module: L.LightningModule) -> None:
    """One training and one evaluation step of a throwaway copy, so one-time process costs are paid before the
    baseline: oneDNN's kernel caches and scratch space, lazily imported code. Otherwise whichever run comes first
    in a process carries them (tens of MiB for the seed CNN). The copy leaves the run's weights, gradients and
    random streams untouched (zero inputs, no augmentation: no random numbers drawn)."""
    datamodule = trainer.datamodule
    train_set = getattr(datamodule, "train_set", None)
    sizes = [getattr(datamodule, name, None) for name in ("batch_size", "eval_batch_size")]
    if train_set is None or None in sizes:
        return  # a datamodule of another shape: its first run carries the one-time costs
    network = copy.deepcopy(pl_module)
    for size in sizes:
        # Not through the datamodule's batch hook: with --augment it would draw from the run's crop/flip stream.
        inputs = normalize(torch.zeros_like(train_set.images[:min(size, len(train_set))]))
        if getattr(datamodule, "channels_last", False):
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        if size == sizes[0]:
            network(inputs).float().sum().backward()
            _warm_up_optimizer(trainer, network)
        else:
            with torch.no_grad():
                network(inputs)
    del network


def _warm_up_optimizer(trainer: L.Trainer, network: torch.nn.Module) -> None:
    """One step of a twin of the run's optimizer on the copy: its first step imports and builds what it uses."""
    optimizer = trainer.optimizers[0] if trainer.optimizers else None
    if optimizer is None:
        return
    try:
        twin = type(optimizer)(network.parameters(), **optimizer.defaults)
        twin.step()
    except (TypeError, ValueError, RuntimeError, KeyError):
        pass  # an optimizer that cannot be rebuilt from its defaults: its first run carries the one-time cost
