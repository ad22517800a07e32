import pickle

import numpy as np
import pytest
import torch
import torchvision.transforms as T
from PIL import Image
from torch.utils.data import DistributedSampler

from optlab.data import CIFAR10DataModule
from optlab.data.batch_transforms import normalize, random_crop, random_flip
from optlab.data.datamodule import TensorBatches
from optlab.errors import OptlabError


def loaded(data_dir, **kwargs) -> CIFAR10DataModule:
    datamodule = CIFAR10DataModule(data_dir=data_dir, **kwargs)
    datamodule.prepare_data()
    datamodule.setup("fit")
    return datamodule


@pytest.mark.parametrize("layout", ["pickled_dir", "image_dir"])
def test_both_on_disk_formats_load_the_same_pixels_and_labels(layout, request, tiny_arrays):
    datamodule = loaded(request.getfixturevalue(layout), val_size=10)
    arrays = datamodule.load_arrays()
    train_images, train_labels = tiny_arrays["train"]
    order = np.argsort(train_labels, kind="stable") if layout == "image_dir" else np.arange(len(train_labels))
    # Image folders list files class by class; compare as sets of (image, label) pairs in that order.
    assert arrays.train_images.shape == (60, 3, 32, 32) and arrays.train_images.dtype == torch.uint8
    assert arrays.test_images.shape == (12, 3, 32, 32)
    expected = torch.from_numpy(train_images[order]).permute(0, 3, 1, 2)
    assert torch.equal(arrays.train_images, expected)
    assert arrays.train_labels.tolist() == train_labels[order].tolist()
    assert arrays.classes[0] == "airplane" and len(arrays.classes) == 10
    assert (len(datamodule.train_set), len(datamodule.val_set), len(datamodule.test_set)) == (50, 10, 12)


def test_validation_split_is_seeded_disjoint_and_the_same_for_every_run(pickled_dir):
    a, b = loaded(pickled_dir, val_size=10, seed=0), loaded(pickled_dir, val_size=10, seed=5)
    assert torch.equal(a.val_set.images, b.val_set.images)
    train_rows = {bytes(x.numpy()) for x in a.train_set.images}
    assert not any(bytes(x.numpy()) in train_rows for x in a.val_set.images)


def test_default_val_size_is_5000_for_cifar_and_ten_percent_for_small_sets(pickled_dir):
    assert loaded(pickled_dir).resolved_val_size() == 6
    from optlab.data.datamodule import default_val_size

    assert default_val_size(50_000) == 5000


def test_image_folder_is_decoded_once_then_served_from_cache(image_dir, monkeypatch):
    loaded(image_dir)
    assert (image_dir / ".optlab-cache.pt").is_file()
    monkeypatch.setattr("optlab.data.image_folder._decode", lambda path: pytest.fail("decoded again"))
    assert len(loaded(image_dir).load_arrays().train_labels) == 60


def test_building_the_image_folder_cache_prints_one_line_with_its_progress(image_dir, monkeypatch, capsys):
    monkeypatch.setattr("optlab.data.image_folder.DECODE_CHUNK", 8)  # 72 images in chunks: several steps of progress
    loaded(image_dir)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.endswith("\n") and "\r" not in out
    assert out.startswith(f"image folder {image_dir}: decoding 72 images")
    assert " 10% 20% 30% 40% 50% 60% 70% 80% 90% 100% (" in out
    assert f"cached as {image_dir / '.optlab-cache.pt'})" in out
    loaded(image_dir)  # served from the cache: nothing to say
    assert capsys.readouterr().out == ""


def test_a_decoding_error_ends_the_progress_line_before_the_error(image_dir, monkeypatch, capsys):
    bad = next((image_dir / "test").rglob("*.png"))
    bad.write_bytes(b"not an image")
    with pytest.raises(OptlabError, match="is not a readable image"):
        loaded(image_dir)
    out = capsys.readouterr().out
    assert out.startswith("image folder") and out.endswith("\n") and "cached as" not in out


def test_batches_equal_the_seeds_per_image_totensor_normalize(pickled_dir, tiny_arrays):
    datamodule = loaded(pickled_dir, val_size=0)
    images, labels = datamodule.test_dataloader().dataset.__getitems__(list(range(12)))
    fast, _ = datamodule.on_after_batch_transfer((images, labels), 0)
    reference = T.Compose([T.ToTensor(), T.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])
    slow = torch.stack([reference(Image.fromarray(image)) for image in tiny_arrays["test"][0]])
    torch.testing.assert_close(fast, slow, rtol=0, atol=1e-6)


def test_train_loader_covers_each_image_once_per_epoch_in_a_seeded_order(pickled_dir):
    datamodule = loaded(pickled_dir, val_size=10, batch_size=8)
    first = [labels for _, labels in datamodule.train_dataloader()]
    assert [len(labels) for labels in first] == [8] * 6 + [2]
    again = [labels for _, labels in datamodule.train_dataloader()]
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert sorted(torch.cat(first).tolist()) == sorted(datamodule.train_set.labels.tolist())


def test_ddp_shards_are_disjoint_and_complete():
    dataset = TensorBatches(torch.zeros(1000, 3, 2, 2, dtype=torch.uint8), torch.arange(1000))
    shards = [set(DistributedSampler(dataset, num_replicas=2, rank=rank, shuffle=True, seed=3)) for rank in (0, 1)]
    assert shards[0].isdisjoint(shards[1]) and shards[0] | shards[1] == set(range(1000))


def test_crop_and_flip_move_pixels_like_torchvision():
    images = torch.arange(2 * 3 * 32 * 32, dtype=torch.float32).reshape(2, 3, 32, 32)
    generator = torch.Generator().manual_seed(0)
    cropped = random_crop(images, generator)
    for original, crop in zip(images, cropped):
        padded = torch.nn.functional.pad(original, (4,) * 4)
        windows = [padded[:, i:i + 32, j:j + 32] for i in range(9) for j in range(9)]
        assert any(torch.equal(crop, window) for window in windows)
    flips = random_flip(images, torch.Generator().manual_seed(1))
    for original, flipped in zip(images, flips):
        assert torch.equal(flipped, original) or torch.equal(flipped, original.flip(2))


def test_normalize_maps_pixels_to_minus_one_one():
    assert normalize(torch.tensor([0, 255], dtype=torch.uint8)).tolist() == [-1.0, 1.0]


def test_synthetic_data_is_deterministic_and_only_used_when_asked(tmp_path):
    a = loaded(tmp_path, dataset="synthetic", synthetic_size=100).load_arrays()
    b = loaded(tmp_path, dataset="synthetic", synthetic_size=100).load_arrays()
    assert torch.equal(a.train_images, b.train_images) and len(a.train_labels) == 100
    assert CIFAR10DataModule(data_dir=tmp_path).source == "cifar10"


def test_missing_data_without_network_names_the_remedies(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setattr("torchvision.datasets.CIFAR10.download", no_network)
    with pytest.raises(OptlabError, match="could not be downloaded.*cifar-10-python.tar.gz.*image folder"):
        loaded(tmp_path / "empty")


def test_truncated_pickled_batch_is_named(pickled_dir):
    path = pickled_dir / "cifar-10-batches-py" / "data_batch_3"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(OptlabError, match="data_batch_3 is truncated or corrupt"):
        loaded(pickled_dir)


def test_pickled_batch_with_mismatched_labels_is_named(pickled_dir):
    path = pickled_dir / "cifar-10-batches-py" / "test_batch"
    entry = pickle.loads(path.read_bytes())
    entry["labels"] = entry["labels"][:-1]
    path.write_bytes(pickle.dumps(entry))
    with pytest.raises(OptlabError, match="labels"):
        loaded(pickled_dir)


def test_bad_image_files_are_named(image_dir):
    (image_dir / "train" / "cat" / "notes.txt").write_text("not an image")
    with pytest.raises(OptlabError, match="notes.txt is not a readable image"):
        loaded(image_dir)


def test_corrupt_image_is_named(image_dir):
    victim = next((image_dir / "test" / "dog").iterdir())
    victim.write_bytes(victim.read_bytes()[:40])
    with pytest.raises(OptlabError, match=f"{victim.name} is not a readable image"):
        loaded(image_dir)


def test_decompression_bomb_is_refused(image_dir, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(OptlabError, match="not a readable image"):
        loaded(image_dir)


def test_train_and_test_with_different_classes_are_refused(image_dir):
    (image_dir / "test" / "truck").rename(image_dir / "test" / "lorry")
    with pytest.raises(OptlabError, match="both must hold the same class folders"):
        loaded(image_dir)


class CreatesAFile:
    """What a crafted pickle can do: name any callable, here one that creates a file when the pickle is read."""

    def __init__(self, path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return open, (self.path, "w")


def test_a_crafted_batch_runs_nothing_and_ends_in_one_line(pickled_dir, tmp_path, capsys):
    from optlab.cli import main

    crafted = pickle.dumps({"data": CreatesAFile(tmp_path / "created-by-pickle"), "labels": [0]}, protocol=2)
    pickle.loads(crafted)  # read by plain pickle, it does create its file
    assert (tmp_path / "created-by-pickle").is_file()
    (tmp_path / "created-by-pickle").unlink()
    (pickled_dir / "cifar-10-batches-py" / "data_batch_1").write_bytes(crafted)
    code = main(["--data-dir", str(pickled_dir), "--dataset", "cifar10", "--log-dir", str(tmp_path / "logs"),
                 "--accelerator", "cpu", "--no-progress-bar"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert "data_batch_1 is not a CIFAR-10 batch" in err and "open" in err
    assert not (tmp_path / "created-by-pickle").exists() and not (tmp_path / "logs").exists()


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_batches_written_with_any_pickle_protocol_load(pickled_dir, tiny_arrays, protocol):
    for path in (pickled_dir / "cifar-10-batches-py").iterdir():
        path.write_bytes(pickle.dumps(pickle.loads(path.read_bytes()), protocol=protocol))
    arrays = loaded(pickled_dir, val_size=10).load_arrays()
    assert torch.equal(arrays.test_images, torch.from_numpy(tiny_arrays["test"][0]).permute(0, 3, 1, 2))


def test_archive_unpacks_into_place_whole(tmp_path, tiny_arrays):
    import tarfile

    from tests.conftest import write_pickled

    source = write_pickled(tmp_path / "source", tiny_arrays)
    target = tmp_path / "target"
    target.mkdir()
    with tarfile.open(target / "cifar-10-python.tar.gz", "w:gz") as tar:
        tar.add(source / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    assert loaded(target, val_size=10).load_arrays().train_images.shape == (60, 3, 32, 32)
    assert sorted(path.name for path in target.iterdir()) == ["cifar-10-batches-py", "cifar-10-python.tar.gz"]


def test_a_class_folder_without_images_is_named(image_dir):
    for image in (image_dir / "train" / "frog").iterdir():
        image.unlink()
    with pytest.raises(OptlabError, match=r"without images \(frog\)"):
        loaded(image_dir)


def test_the_listing_equals_torchvisions_make_dataset_so_caches_keep_their_fingerprint(tmp_path):
    import os

    from torchvision.datasets import folder

    from optlab.data.image_folder import find_classes, list_files

    split = tmp_path / "train"
    for relative in ("b/2.jpg", "b/10.jpg", "b/.hidden.jpg", "b/sub/1.jpg", "b/.cache/x.jpg", "a/z.png", "a/A.png",
                     "a/notes.txt"):
        (split / relative).parent.mkdir(parents=True, exist_ok=True)
        (split / relative).write_bytes(b"")
    (split / ".ipynb_checkpoints").mkdir()
    classes = find_classes(split)
    assert classes == ["a", "b"]
    reference = folder.make_dataset(str(split), {name: label for label, name in enumerate(classes)},
                                    is_valid_file=lambda path: not os.path.basename(path).startswith("."))
    listed = list_files(split, classes)
    assert listed == reference and len(listed) == 7  # every visible file, nested ones too, in the same order


def test_a_limited_evaluation_reads_a_test_set_shuffled_once_not_sorted_by_class(image_dir):
    plain, shuffled = loaded(image_dir).test_set.labels, loaded(image_dir, shuffled_test=True).test_set.labels
    assert plain.tolist() == sorted(plain.tolist())  # class folders: sorted, so the first batches hold few classes
    assert sorted(shuffled.tolist()) == plain.tolist() and shuffled.tolist() != plain.tolist()
    assert loaded(image_dir, shuffled_test=True).test_set.labels.tolist() == shuffled.tolist()  # a fixed order
