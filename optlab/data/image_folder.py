"""Image-folder datasets (train/<class>/*, test/<class>/*): decoded once, then cached as tensors."""

import hashlib
import os
import sys
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TextIO

import numpy as np
import torch
from lightning_utilities.core.rank_zero import rank_zero_only
from PIL import Image
from torchvision.datasets import folder

from optlab.atomic import write_atomic
from optlab.data.arrays import ImageArrays
from optlab.errors import OptlabError

CACHE_NAME = ".optlab-cache.pt"
CACHE_VERSION = 1
DECODE_CHUNK = 500


def is_image_folder(root: Path) -> bool:
    return (root / "train").is_dir() and (root / "test").is_dir()


def find_classes(split_dir: Path) -> list[str]:
    """Class names are the sorted subfolder names (torchvision's find_classes), hidden folders left out."""
    try:
        classes, _ = folder.find_classes(split_dir)
    except FileNotFoundError:
        classes = []
    # torchvision counts hidden folders (.ipynb_checkpoints, ...) as classes; an image folder never means them.
    classes = [name for name in classes if not name.startswith(".")]
    if not classes:
        raise OptlabError(f"{split_dir} has no class subfolders; an image folder holds "
                          "train/<class>/<image> and test/<class>/<image>")
    return classes


def list_files(split_dir: Path, classes: list[str]) -> list[tuple[str, int]]:
    """(file, label) for every visible file, in torchvision's make_dataset order: classes sorted, then each class
    folder walked (links followed) with folders and names sorted. The same order and path strings as that
    function, so a cache keeps its fingerprint; plain strings, because building 60,000 pathlib objects (and
    make_dataset's per-file checks) cost about a second of every sweep's start.

    Every file counts, whatever its extension, so a stray non-image is named when it cannot be decoded
    rather than silently skipped.
    """
    directory = os.path.expanduser(str(split_dir))
    files: list[tuple[str, int]] = []
    empty = []
    for label, name in enumerate(classes):
        before = len(files)
        for folder_path, _, names in sorted(os.walk(os.path.join(directory, name), followlinks=True)):
            files.extend((os.path.join(folder_path, file), label) for file in sorted(names) if not file.startswith("."))
        if len(files) == before:
            empty.append(name)
    if empty:
        raise OptlabError(f"{split_dir} has class folders without images ({', '.join(sorted(empty))}); remove those "
                          "folders or add their images")
    return files


def _decode(path: str) -> np.ndarray:
    """One image as H×W×3 uint8; anything Pillow cannot read safely is named and refused."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                return np.asarray(image.convert("RGB"))
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombWarning, Image.DecompressionBombError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise OptlabError(f"{path} is not a readable image ({reason}); remove or replace it") from None


class DecodeProgress:
    """One console line while the cache is built: what is decoded, then every tenth done, then where it went.

    The line grows in place (no carriage returns), so it reads the same on a terminal and in a log file.
    """

    def __init__(self, root: Path, total: int, stream: TextIO | None) -> None:
        self.total, self.stream = total, stream
        self.done = self.shown = 0
        self.started = time.perf_counter()
        self._lock = threading.Lock()
        self._write(f"image folder {root}: decoding {total:,} images for its cache (first use only):")

    def _write(self, text: str) -> None:
        if self.stream is not None:
            self.stream.write(text)
            self.stream.flush()

    def advance(self, count: int) -> None:
        with self._lock:  # decode threads finish their chunks side by side
            self.done += count
            tenths = self.done * 10 // self.total
            while self.shown < tenths:
                self.shown += 1
                self._write(f" {self.shown * 10}%")

    def end_line(self) -> None:
        self._write("\n")

    def finish(self, cached_as: Path | None) -> None:
        where = f"cached as {cached_as}" if cached_as is not None else "no writable place for the cache"
        self._write(f" ({time.perf_counter() - self.started:.0f} s; {where})\n")


def _decode_split(files: list[tuple[str, int]], progress: DecodeProgress) -> tuple[np.ndarray, np.ndarray]:
    first = _decode(files[0][0])
    images = np.empty((len(files), *first.shape), dtype=np.uint8)

    def decode_range(start: int) -> None:
        for index in range(start, min(start + DECODE_CHUNK, len(files))):
            path = files[index][0]
            pixels = first if index == 0 else _decode(path)
            if pixels.shape != first.shape:
                raise OptlabError(f"{path} is {pixels.shape[1]}×{pixels.shape[0]} but {os.path.basename(files[0][0])} "
                                  f"is {first.shape[1]}×{first.shape[0]}; every image must have the same size")
            images[index] = pixels
        progress.advance(min(DECODE_CHUNK, len(files) - start))

    # Pillow releases the GIL while it decodes, so threads decode side by side (60,000 small JPEGs take
    # about 8 s on one core). list() re-raises the first error of any chunk.
    with ThreadPoolExecutor(max(1, min(16, os.cpu_count() or 1))) as pool:
        list(pool.map(decode_range, range(0, len(files), DECODE_CHUNK)))
    return images, np.array([label for _, label in files], dtype=np.int64)


def fingerprint(files: list[tuple[str, int]], root: Path) -> str:
    """Names, sizes and modification times: any change to the folder invalidates the cache.

    Plain strings and os.stat: pathlib's relative_to costs seconds over 60,000 files.
    """
    digest = hashlib.sha256(f"v{CACHE_VERSION}".encode())
    prefix = len(str(root)) + 1
    for name, label in files:
        stat = os.stat(name)
        digest.update(f"{name[prefix:]}|{label}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def cache_paths(root: Path) -> list[Path]:
    """Beside the data when writable, else in the user's cache folder."""
    key = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    return [root / CACHE_NAME, Path.home() / ".cache" / "optlab" / f"{key}.pt"]


def _load_cache(root: Path, expected: str) -> ImageArrays | None:
    for path in cache_paths(root):
        try:
            cached = torch.load(path, weights_only=True)
        except Exception:
            continue
        if cached.get("fingerprint") == expected:
            return ImageArrays(**cached["arrays"])
    return None


def _save_cache(root: Path, key: str, arrays: ImageArrays) -> Path | None:
    """Beside the images, else in the user cache folder: the first place that takes the file whole (None: none)."""
    payload = {"fingerprint": key, "arrays": arrays.to_dict()}
    for path in cache_paths(root):
        try:
            write_atomic(path, lambda handle: torch.save(payload, handle))
            return path
        except OSError:
            continue
    return None


def read_image_folder(root: Path) -> ImageArrays:
    train_classes, test_classes = find_classes(root / "train"), find_classes(root / "test")
    if train_classes != test_classes:
        differ = sorted(set(train_classes) ^ set(test_classes))
        raise OptlabError(f"{root}/train and {root}/test have different classes ({', '.join(differ)}); "
                          "both must hold the same class folders")
    splits = {split: list_files(root / split, train_classes) for split in ("train", "test")}
    key = fingerprint(splits["train"] + splits["test"], root)
    cached = _load_cache(root, key)
    if cached is not None:
        return cached
    # About a minute for CIFAR-10's 60,000 JPEGs on 2 cores: say so, once per multi-process run (global rank 0).
    stream = sys.stdout if getattr(rank_zero_only, "rank", 0) == 0 else None
    progress = DecodeProgress(root, len(splits["train"]) + len(splits["test"]), stream)
    try:
        arrays = ImageArrays.from_numpy(_decode_split(splits["train"], progress),
                                        _decode_split(splits["test"], progress), train_classes)
    except BaseException:
        progress.end_line()  # the error's own line starts on a fresh one
        raise
    progress.finish(_save_cache(root, key, arrays))
    return arrays
