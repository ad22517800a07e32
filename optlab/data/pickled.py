"""torchvision's CIFAR-10 format (cifar-10-batches-py/): found, unpacked from its archive, or downloaded.

The batches are pickles, and a pickle may name any function to call while it is read. --data-dir may be a
folder someone else made, so the batches are read by an unpickler that builds only what a CIFAR-10 batch
holds (dicts, lists, numbers, strings, bytes and numpy arrays) and refuses the file at the first other name,
before building anything from it.
"""

import os
import pickle
import shutil
import tarfile
import tempfile
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


# What a CIFAR-10 batch's pickle may name: numpy's array and dtype rebuilders (numpy 1 and 2 spellings) and
# the codec that protocol-2 pickles written by Python 3 use for bytes.
ALLOWED_GLOBALS = frozenset({
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),
})


class NotABatch(Exception):
    """The pickle named something a CIFAR-10 batch never holds."""


class BatchUnpickler(pickle.Unpickler):
    """pickle.Unpickler that resolves only ALLOWED_GLOBALS; any other name stops the read before it is used."""

    def find_class(self, module: str, name: str):
        if (module, name) not in ALLOWED_GLOBALS:
            raise NotABatch(f"{module}.{name}")
        return super().find_class(module, name)

    def persistent_load(self, pid):
        raise NotABatch(f"persistent id {pid!r}")


def ensure_pickled(root: Path) -> None:
    """Make root/cifar-10-batches-py exist: unpack a local archive, else download with torchvision.

    Both happen in a fresh folder beside the data that is renamed into place when complete, so processes
    preparing the same --data-dir at once never see (or unpack over) half a folder: one rename wins.
    """
    if (root / FOLDER).is_dir():
        return
    archive = root / ARCHIVE
    if archive.is_file():
        with _unpacking(root) as scratch:
            try:
                with tarfile.open(archive) as tar:
                    tar.extractall(scratch, filter="data")
            except (tarfile.TarError, OSError, EOFError) as error:
                raise OptlabError(f"{archive} cannot be unpacked ({error}); delete it and download it again") from None
        return
    import torchvision

    try:
        root.mkdir(parents=True, exist_ok=True)
        with _unpacking(root) as scratch:
            torchvision.datasets.CIFAR10(str(scratch), train=True, download=True)  # checks the archive's MD5
    except OptlabError:
        raise
    except Exception as error:  # no network, proxy, checksum, disk full: all end the same way
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise OptlabError(f"CIFAR-10 is not in --data-dir {root} and could not be downloaded ({reason}); "
                          f"{REMEDY}") from None


class _unpacking:
    """A scratch folder in root; on success its cifar-10-batches-py/ is renamed to root's, then it is removed."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def __enter__(self) -> Path:
        self.scratch = Path(tempfile.mkdtemp(prefix=f".{FOLDER}.", dir=self.root))
        return self.scratch

    def __exit__(self, kind, error, trace) -> None:
        try:
            if kind is None:
                unpacked = self.scratch / FOLDER
                if not unpacked.is_dir():
                    raise OptlabError(f"{self.root / ARCHIVE} holds no {FOLDER}/; delete it and download it again")
                try:
                    os.rename(unpacked, self.root / FOLDER)
                except OSError:
                    if not (self.root / FOLDER).is_dir():  # not "another process was first"
                        raise
        finally:
            shutil.rmtree(self.scratch, ignore_errors=True)


def _load_batch(path: Path) -> dict:
    if not path.is_file():
        raise OptlabError(f"{path} is missing; {FOLDER}/ needs {', '.join(TRAIN_BATCHES)} and {TEST_BATCH}")
    entry = _unpickle(path)
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
    meta = _unpickle(path)
    names = meta.get("label_names") if isinstance(meta, dict) else None
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise OptlabError(f"{path} is not CIFAR-10's batches.meta (needs a 'label_names' list of strings)")
    return names


def _unpickle(path: Path):
    try:
        with path.open("rb") as handle:
            return BatchUnpickler(handle, encoding="latin1").load()
    except NotABatch as refused:
        raise OptlabError(f"{path} is not a CIFAR-10 batch: it asks to build {refused}, which a CIFAR-10 batch never "
                          f"holds; nothing from it was run. Replace {FOLDER}/ with the original files") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError, IndexError,
            KeyError, OverflowError, MemoryError):
        raise OptlabError(f"{path} is truncated or corrupt; delete {FOLDER}/ and unpack or download it again") from None
