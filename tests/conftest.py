"""Fixtures: tiny CIFAR-10 copies in both on-disk formats, generated from the same arrays."""

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("PYTHONWARNINGS", "ignore")

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
PER_BATCH = 12  # images per pickled train batch (5 batches) and in the test batch


def make_arrays(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(count, 32, 32, 3), dtype=np.uint8)
    labels = np.arange(count) % 10
    return images, labels


@pytest.fixture(scope="session")
def tiny_arrays() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {"train": make_arrays(5 * PER_BATCH, 1), "test": make_arrays(PER_BATCH, 2)}


def write_pickled(root: Path, arrays: dict) -> Path:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    images, labels = arrays["train"]
    for i in range(5):
        part = slice(i * PER_BATCH, (i + 1) * PER_BATCH)
        entry = {"data": images[part].transpose(0, 3, 1, 2).reshape(PER_BATCH, -1), "labels": labels[part].tolist()}
        with (folder / f"data_batch_{i + 1}").open("wb") as handle:
            pickle.dump(entry, handle)
    images, labels = arrays["test"]
    with (folder / "test_batch").open("wb") as handle:
        pickle.dump({"data": images.transpose(0, 3, 1, 2).reshape(len(images), -1), "labels": labels.tolist()}, handle)
    with (folder / "batches.meta").open("wb") as handle:
        pickle.dump({"label_names": CLASSES}, handle)
    return root


def write_image_folder(root: Path, arrays: dict) -> Path:
    for split, (images, labels) in arrays.items():
        for index, (image, label) in enumerate(zip(images, labels)):
            folder = root / split / CLASSES[label]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(folder / f"{index:04d}.png")  # lossless, so pixels compare exactly
    return root


@pytest.fixture
def pickled_dir(tmp_path: Path, tiny_arrays: dict) -> Path:
    return write_pickled(tmp_path / "pickled", tiny_arrays)


@pytest.fixture
def image_dir(tmp_path: Path, tiny_arrays: dict) -> Path:
    return write_image_folder(tmp_path / "images", tiny_arrays)
