"""Start-up cost of an image-folder dataset: listing, cache fingerprint, decoding, cache load.

python benchmarks/data_load.py --data-dir path/to/cifar10-jpg [--decode-images 6000]

Each part is timed in this one process, the old and new ways side by side, so the ratios hold on a noisy machine.
"""

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

from torchvision.datasets import folder

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from optlab.data import image_folder  # noqa: E402
from optlab.errors import OptlabError  # noqa: E402


def legacy_listing(split_dir: Path, classes: list[str]) -> list[tuple[Path, int]]:
    """The listing as it was: torchvision's make_dataset, then a pathlib object per file."""
    files = folder.make_dataset(str(split_dir), {name: label for label, name in enumerate(classes)},
                                is_valid_file=lambda path: not os.path.basename(path).startswith("."))
    return [(Path(path), label) for path, label in files]


def legacy_fingerprint(files: list[tuple[Path, int]], root: Path) -> str:
    """The fingerprint as it was: pathlib per file."""
    digest = hashlib.sha256(f"v{image_folder.CACHE_VERSION}".encode())
    for path, label in files:
        stat = path.stat()
        digest.update(f"{path.relative_to(root)}|{label}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def timed(function, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True, type=Path)
    parser.add_argument("--decode-images", type=int, default=6000, help="train images decoded per timing")
    args = parser.parse_args()
    try:
        return measure(args.data_dir, args.decode_images)
    except OptlabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def measure(root: Path, decode_images: int) -> int:
    classes = image_folder.find_classes(root / "train")
    files, legacy = [], []

    def listing(lister, into: list) -> None:
        into[:] = lister(root / "train", classes) + lister(root / "test", classes)

    old_list, new_list = timed(lambda: listing(legacy_listing, legacy)), timed(lambda: listing(image_folder.list_files,
                                                                                             files))
    assert [(str(path), label) for path, label in legacy] == files  # same files, order and path strings
    assert legacy_fingerprint(legacy, root) == image_folder.fingerprint(files, root)
    old, new = timed(lambda: legacy_fingerprint(legacy, root)), timed(lambda: image_folder.fingerprint(files, root))
    print(f"{os.cpu_count()} cores; {len(files)} files listed: make_dataset + pathlib {old_list:.2f} s, "
          f"os.walk + strings {new_list:.2f} s ({old_list / new_list:.1f}x)")
    print(f"cache fingerprint: pathlib {old:.2f} s, strings {new:.2f} s ({old / new:.1f}x)")
    subset = files[:: max(1, len(files) // decode_images)][:decode_images]
    pool = image_folder.ThreadPoolExecutor
    with mock.patch.object(image_folder, "ThreadPoolExecutor", lambda workers: pool(1)):
        one = timed(lambda: image_folder._decode_split(subset), 1)
    threads = timed(lambda: image_folder._decode_split(subset), 1)
    print(f"decode {len(subset)} images: 1 thread {one:.2f} s, {min(16, os.cpu_count() or 1)} threads "
          f"{threads:.2f} s ({one / threads:.1f}x)")
    arrays = image_folder.read_image_folder(root)  # writes the cache if it is missing
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cache.pt"
        import torch

        torch.save({"fingerprint": "x", "arrays": arrays.to_dict()}, path)
        size = path.stat().st_size
        load = timed(lambda: torch.load(path, weights_only=True))
    print(f"cache load ({size / 2**20:.0f} MiB): {load:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
