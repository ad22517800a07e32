"""The benchmark runs end to end on tiny data, and its variants train on the same preprocessed pixels."""

import importlib.util
import re

import pytest
import torch
import torchvision
import torchvision.transforms as T

from benchmarks.throughput import (
    TARGETS,
    VARIANTS,
    BenchSettings,
    Row,
    Timing,
    format_targets,
    in_memory_batches,
    load_data,
    optlab_order,
    seed_dataset,
)
from optlab.data import CIFAR10DataModule
from optlab.errors import OptlabError
from tests.helpers import ROOT


def load_script():
    spec = importlib.util.spec_from_file_location("bench_script", ROOT / "scripts" / "bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiny(**overrides) -> BenchSettings:
    values = {"steps": 3, "warmup": 2, "repeats": 1, "accelerator": "cpu", "dataset": "synthetic",
              "synthetic_size": 400, **overrides}
    return BenchSettings(**values)


def test_bench_prints_a_figure_and_ratios_for_every_variant(capsys):
    code = load_script().main(["--accelerator", "cpu", "--synthetic-size", "400", "--steps", "3", "--warmup", "2",
                               "--repeats", "2", "--no-sweep"])
    out = capsys.readouterr().out
    assert code == 0
    for variant in VARIANTS:
        line = next(line for line in out.splitlines() if line.startswith(variant.title))
        images_per_second, low_high, vs_seed, vs_plain = line[len(variant.title):].split()[:4]
        low, high = (float(value) for value in low_high.split("-"))
        assert 0 < low <= float(images_per_second) <= high
        assert vs_seed.endswith("x") and vs_plain.endswith("x")
        assert len(re.findall(rf"repeat \d: {re.escape(variant.title)}: \d+ images/s", out)) == 2
    assert "Lightning per-step overhead" in out and "not measurable on CPU" in out
    assert len(re.findall(r"^  (PASS|MISS)  ", out, flags=re.MULTILINE)) == len(TARGETS)


def test_a_smaller_batch_is_measured_at_that_size_and_skips_the_batch_64_targets(capsys):
    code = load_script().main(["--accelerator", "cpu", "--synthetic-size", "100", "--batch-size", "4", "--steps",
                               "20", "--warmup", "2", "--repeats", "1", "--no-sweep"])
    out = capsys.readouterr().out
    assert code == 0 and "batch 4, SeedCNN" in out
    assert "not checked at --batch-size 4" in out and not re.search(r"^  (PASS|MISS)  ", out, flags=re.MULTILINE)


def test_plain_batches_follow_the_batch_size():
    data = load_data(tiny(batch_size=8))
    arrays = data.arrays
    batches = list(in_memory_batches(arrays.train_images, arrays.train_labels,
                                     optlab_order(len(arrays.train_labels), 0), data.settings.batch_size))
    assert len(batches) == 50 and all(len(labels) == 8 for _, labels in batches)


def test_steps_beyond_one_epoch_are_refused_before_measuring():
    with pytest.raises(OptlabError, match="exceed one epoch"):
        load_data(tiny(synthetic_size=200, steps=3, warmup=1))  # 200 images: 3 full batches


def test_targets_pass_or_miss_on_the_median_ratio():
    def row(key: str, seconds: list[float]) -> Row:
        variant = next(v for v in VARIANTS if v.key == key)
        return Row(variant, steps=100, timings=[Timing(s, 0.1) for s in seconds])

    rows = {"seed": row("seed", [10.0, 99.0, 10.0]), "plain": row("plain", [5.0, 5.0, 5.0]),
            "optlab_fp32": row("optlab_fp32", [5.5, 5.0, 1.0]), "optlab_fast": row("optlab_fast", [4.0])}
    verdicts = re.findall(r"(PASS|MISS) .*?: (\d+\.\d+)x", format_targets(rows))
    # fp32 median 5.0 s vs seed median 10.0 s: 2.00x; vs plain 1.00x; fast 10/4 = 2.50x.
    assert verdicts == [("PASS", "2.00"), ("PASS", "1.00"), ("PASS", "2.50")]
    rows["optlab_fp32"] = row("optlab_fp32", [5.5, 5.5, 5.5])
    assert [v for v, _ in re.findall(r"(PASS|MISS) .*?: (\d+\.\d+)x", format_targets(rows))] == ["PASS", "MISS",
                                                                                                   "PASS"]


def test_seed_pipeline_batch_equals_the_fast_path_batch_for_the_same_indices(pickled_dir):
    datamodule = CIFAR10DataModule(data_dir=pickled_dir, val_size=0)
    datamodule.prepare_data()
    datamodule.setup("fit")
    indices = [7, 0, 59, 31, 12]
    fast, fast_labels = datamodule.on_after_batch_transfer(datamodule.train_set.__getitems__(indices), 0)
    seed = seed_dataset(datamodule.load_arrays())
    slow = torch.stack([seed[index][0] for index in indices])
    assert fast.dtype == slow.dtype == torch.float32 and fast.shape == slow.shape == (5, 3, 32, 32)
    torch.testing.assert_close(fast, slow, rtol=0, atol=1e-6)
    assert fast_labels.tolist() == [seed[index][1] for index in indices]


def test_seed_dataset_matches_torchvision_cifar10(pickled_dir, monkeypatch):
    # The fixture's files are not the real ones, so skip torchvision's checksum check.
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda *args, **kwargs: True)
    transform = T.Compose([T.ToTensor(), T.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])
    reference = torchvision.datasets.CIFAR10(str(pickled_dir), train=True, transform=transform)
    datamodule = CIFAR10DataModule(data_dir=pickled_dir)
    ours = seed_dataset(datamodule.load_arrays())
    assert len(ours) == len(reference) == 60
    for index in (0, 13, 59):
        assert torch.equal(ours[index][0], reference[index][0]) and ours[index][1] == reference[index][1]


def test_plain_loop_batches_are_the_batches_lightning_trains_on():
    data = load_data(tiny())
    datamodule = data.datamodule
    datamodule.setup("fit")
    arrays = data.arrays
    plain = in_memory_batches(arrays.train_images, arrays.train_labels, optlab_order(len(arrays.train_labels), 0))
    for (images, labels), batch in zip(plain, list(datamodule.train_dataloader())[:3]):
        expected_images, expected_labels = datamodule.on_after_batch_transfer(batch, 0)
        assert torch.equal(images, expected_images) and torch.equal(labels, expected_labels)
        assert len(labels) == 64
