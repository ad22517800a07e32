"""torchvision's CIFAR-10 format (cifar-10-batches-py/): found, unpacked from its archive, or downloaded."""

import pickle
import tarfile
from pathlib import Path

import numpy as np

from optlab.data.arrays import ImageArrays
from optlab.errors import OptlabError

FOLDER = "cifar-10-batches-py"
ARCHIVE = "cifar-10-python.tar.gz"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"

REMEDY = (f"put {ARCHIVE} or {FOLDER}/ in it, or point --data-dir at an image folder "
          "with train/ and test/ class subfolders (or use --dataset synthetic for a smoke run)")


def ensure_pickled(root: Path) -> None:
    """Make root/cifar-10-batches-py exist: unpack a local archive, else download with torchvision."""
    if (root / FOLDER).is_dir():
        return
    archive = root / ARCHIVE
    if archive.is_file():
        try:
            with tarfile.open(archive) as tar:
                tar.extractall(root, filter="data")
        except (tarfile.TarError, OSError, EOFError) as error:
            raise OptlabError(f"{archive} cannot be unpacked ({error}); delete it and download it again") from None
        return
    import torchvision

    try:
        root.mkdir(parents=True, exist_ok=True)
        torchvision.datasets.CIFAR10(str(root), train=True, download=True)
    except Exception as error:  # no network, proxy, checksum, disk full: all end the same way
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise OptlabError(f"CIFAR-10 is not in --data-dir {root} and could not be downloaded ({reason}); "
                          f"{REMEDY}") from None


def _load_batch(path: Path) -> dict:
    if not path.is_file():
        raise OptlabError(f"{path} is missing; {FOLDER}/ needs {', '.join(TRAIN_BATCHES)} and {TEST_BATCH}")
    try:
        with path.open("rb") as handle:
            entry = pickle.load(handle, encoding="latin1")
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError, IndexError):
        raise OptlabError(f"{path} is truncated or corrupt; delete {FOLDER}/ and unpack or download it again") from None
    if not isinstance(entry, dict) or "data" not in entry or "labels" not in entry:
        raise OptlabError(f"{path} is not a CIFAR-10 batch (needs 'data' and 'labels')")
    return entry


def _images_and_labels(paths: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    images, labels = [], []
    for path in paths:
        entry = _load_batch(path)
        data = np.asarray(entry["data"], dtype=np.uint8)
        if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
            raise OptlabError(f"{path}: expected rows of 3072 pixels, got shape {data.shape}")
        if len(entry["labels"]) != len(data):
            raise OptlabError(f"{path}: {len(data)} images but {len(entry['labels'])} labels")
        images.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        labels.append(np.asarray(entry["labels"], dtype=np.int64))
    return np.concatenate(images), np.concatenate(labels)


def read_pickled(root: Path) -> ImageArrays:
    folder = root / FOLDER
    train = _images_and_labels([folder / name for name in TRAIN_BATCHES])
    test = _images_and_labels([folder / TEST_BATCH])
    meta = folder / "batches.meta"
    classes = _load_meta(meta) if meta.is_file() else [str(i) for i in range(10)]
    return ImageArrays.from_numpy(train, test, classes)


def _load_meta(path: Path) -> list[str]:
    try:
        with path.open("rb") as handle:
            return list(pickle.load(handle, encoding="latin1")["label_names"])
    except Exception:
        raise OptlabError(f"{path} is truncated or corrupt; delete {FOLDER}/ and unpack or download it again") from None
