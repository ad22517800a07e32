"""The CIFAR-10 LightningDataModule: whole dataset on the training device, batches cut by index."""

import copy
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from optlab.data.arrays import ImageArrays
from optlab.data.batch_transforms import AUGMENTATIONS, PREPROCESSINGS
from optlab.data.image_folder import is_image_folder, read_image_folder
from optlab.data.pickled import ensure_pickled, read_pickled
from optlab.data.sources import DATASETS
from optlab.data.synthetic import make_synthetic
from optlab.errors import OptlabError

SPLIT_SEED = 20_240_601  # fixed: every run, seed and optimizer validates on the same held-out images


def default_val_size(train_count: int) -> int:
    """5,000 of CIFAR-10's 50,000 train images; a tenth of smaller sets."""
    return min(5000, train_count // 10)


class TensorBatches(Dataset):
    """Images and labels as tensors; the DataLoader fetches a whole batch with one indexing operation."""

    def __init__(self, images: Tensor, labels: Tensor) -> None:
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return self.images[index], self.labels[index]

    def __getitems__(self, indices: list[int]) -> tuple[Tensor, Tensor]:
        index = torch.as_tensor(indices, dtype=torch.long).to(self.labels.device, non_blocking=True)
        return self.images[index], self.labels[index]


def keep_batch(batch: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
    return batch


class LoadedData:
    """What the DataModules of one sweep share (see `with_seed`): the arrays, read once, and the splits placed on
    the device they were last placed on."""

    def __init__(self) -> None:
        self.arrays: ImageArrays | None = None
        self.placed_on: torch.device | None = None
        self.splits: dict[str, TensorBatches] = {}


class CIFAR10DataModule(L.LightningDataModule):
    """CIFAR-10 from torchvision's files, an image folder, or generated data; seeded split and order."""

    def __init__(self, data_dir: str | Path = "data", dataset: str = "auto", batch_size: int = 64,
                 val_size: int | None = None, augment: bool = False, channels_last: bool = False,
                 synthetic_size: int = 10_000, seed: int = 0, eval_batch_size: int = 1000,
                 augmentation: str = "crop_flip", preprocessing: str = "half", shuffled_test: bool = False) -> None:
        super().__init__()
        if dataset not in DATASETS:
            raise OptlabError(f"unknown --dataset {dataset!r}; choose from: {', '.join(DATASETS)}")
        # Chosen by the problem: which pipeline `augment` turns on, and how pixels become network inputs.
        self._augment_batch = AUGMENTATIONS[augmentation]
        self._preprocess = PREPROCESSINGS[preprocessing]
        self.data_dir = Path(data_dir)
        self.dataset = dataset
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size
        self.val_size = val_size
        self.augment = augment
        self.channels_last = channels_last
        self.synthetic_size = synthetic_size
        self.seed = seed
        # A test set read from class folders is sorted by class, so its first batches (all a limited evaluation
        # reads) would hold two classes; shuffled once, in a fixed order, they are a fair sample.
        self.shuffled_test = shuffled_test
        self._loaded = LoadedData()
        self._generator: torch.Generator | None = None
        self._generator_epoch: int | None = None

    def with_seed(self, seed: int) -> "CIFAR10DataModule":
        """The same data, read and placed once for all runs, with this run's seed for its order and augmentation:
        each run gets its own DataModule, and the one the sweep shares is never changed."""
        twin = copy.copy(self)
        twin.seed = seed
        twin.trainer = None
        twin._generator, twin._generator_epoch = None, None
        return twin

    @property
    def train_set(self) -> TensorBatches:
        return self._split("train")

    @property
    def val_set(self) -> TensorBatches:
        return self._split("val")

    @property
    def test_set(self) -> TensorBatches:
        return self._split("test")

    def _split(self, name: str) -> TensorBatches:
        try:
            return self._loaded.splits[name]
        except KeyError:  # before setup; an AttributeError, so getattr(datamodule, "train_set", None) reads None
            raise AttributeError(f"{name}_set exists once setup() has placed the data") from None

    @property
    def source(self) -> str:
        """What `dataset` resolves to for this data_dir."""
        if self.dataset == "auto":
            return "imagefolder" if is_image_folder(self.data_dir) else "cifar10"
        if self.dataset == "imagefolder" and not is_image_folder(self.data_dir):
            raise OptlabError(f"--data-dir {self.data_dir} has no train/ and test/ folders; an image folder "
                              "holds train/<class>/<image> and test/<class>/<image>")
        return self.dataset

    def prepare_data(self) -> None:
        if self.source == "cifar10":
            ensure_pickled(self.data_dir)

    def load_arrays(self) -> ImageArrays:
        loaded = self._loaded
        if loaded.arrays is None:
            source = self.source
            if source == "synthetic":
                loaded.arrays = make_synthetic(self.synthetic_size)
            elif source == "imagefolder":
                loaded.arrays = read_image_folder(self.data_dir)
            else:
                ensure_pickled(self.data_dir)
                loaded.arrays = read_pickled(self.data_dir)
        return loaded.arrays

    @property
    def num_classes(self) -> int:
        return len(self.load_arrays().classes)

    def resolved_val_size(self) -> int:
        train_count = len(self.load_arrays().train_labels)
        size = default_val_size(train_count) if self.val_size is None else self.val_size
        if size >= train_count:
            raise OptlabError(f"--val-size {size} leaves no training images (the train split has {train_count}); "
                              f"use a value below {train_count}, or 0 for no validation")
        return size

    def _device(self) -> torch.device:
        trainer = self.trainer
        return trainer.strategy.root_device if trainer is not None else torch.device("cpu")

    def setup(self, stage: str | None = None) -> None:
        device = self._device()
        if self._loaded.placed_on == device:
            return
        arrays = self.load_arrays()
        order = torch.randperm(len(arrays.train_labels), generator=torch.Generator().manual_seed(SPLIT_SEED))
        val_size = self.resolved_val_size()
        val_index, train_index = order[:val_size], order[val_size:].sort().values
        # Held on the device: a batch is one gather there, no per-image Python and no host-to-device copy.
        splits = {"train": TensorBatches(arrays.train_images[train_index].to(device),
                                         arrays.train_labels[train_index].to(device)),
                  "val": TensorBatches(arrays.train_images[val_index].to(device),
                                       arrays.train_labels[val_index].to(device))}
        test_index = (torch.randperm(len(arrays.test_labels), generator=torch.Generator().manual_seed(SPLIT_SEED))
                      if self.shuffled_test else slice(None))
        splits["test"] = TensorBatches(arrays.test_images[test_index].to(device),
                                       arrays.test_labels[test_index].to(device))
        self._loaded.splits, self._loaded.placed_on = splits, device

    def train_dataloader(self) -> DataLoader:
        trainer = self.trainer
        # A DistributedSampler even on one device: the order depends only on (seed, epoch), so every
        # optimizer sees the same batches, and Lightning keeps it (and calls set_epoch) under DDP.
        sampler = DistributedSampler(
            self.train_set, num_replicas=trainer.world_size if trainer else 1,
            rank=trainer.global_rank if trainer else 0, shuffle=True, seed=self.seed,
        )
        return DataLoader(self.train_set, batch_size=self.batch_size, sampler=sampler, collate_fn=keep_batch)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val_set, batch_size=self.eval_batch_size, collate_fn=keep_batch)

    def test_dataloader(self) -> DataLoader:
        return DataLoader(self.test_set, batch_size=self.eval_batch_size, collate_fn=keep_batch)

    def _augmentation_generator(self, device: torch.device) -> torch.Generator:
        """Seeded by (seed, epoch, rank): a resumed run draws the same crops and flips as an unbroken one."""
        trainer = self.trainer
        epoch = trainer.current_epoch
        if self._generator is None or self._generator_epoch != epoch or self._generator.device != device:
            seed = (self.seed * 1_000_003 + epoch) * 1009 + trainer.global_rank
            self._generator = torch.Generator(device=device).manual_seed(seed)
            self._generator_epoch = epoch
        return self._generator

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> tuple[Tensor, Tensor]:
        images, labels = batch
        trainer = self.trainer
        if self.augment and trainer is not None and trainer.training:
            images = self._augment_batch(images, self._augmentation_generator(images.device))
        images = self._preprocess(images)
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        return images, labels
