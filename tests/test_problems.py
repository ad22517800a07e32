import colorsys
import dataclasses
import json
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from optlab.cli import build_parser, configs_from_args
from optlab.data.batch_transforms import (
    AUGMENTATIONS,
    PREPROCESSINGS,
    adjust_saturation,
    deepobs_augment,
    per_image_standardization,
)
from optlab.errors import OptlabError
from optlab.problems import PROBLEMS, get_problem
from optlab.problems.deepobs_3c3d import DeepOBS3c3d
from optlab.run.module import ImageClassifier
from optlab.sweep.config import SweepConfig
from optlab.sweep.execute import claim_sweep_folder
from tests.helpers import ROOT, results, run_script, sweep_args


def test_unknown_problem_is_one_clear_line():
    with pytest.raises(OptlabError, match="unknown problem 'vgg'; choose from: seed_cnn, deepobs_3c3d, resnet18"):
        get_problem("vgg")


@pytest.mark.parametrize("name", list(PROBLEMS))
def test_every_problem_builds_and_trains_one_step_on_cpu(name):
    problem = PROBLEMS[name]
    torch.manual_seed(0)
    module = ImageClassifier(optimizer="sgd", lr=0.05, problem=name, l2=problem.l2)
    images = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    labels = torch.tensor([0, 1, 2, 3])
    generator = torch.Generator().manual_seed(0)
    inputs = PREPROCESSINGS[problem.preprocessing](AUGMENTATIONS[problem.augmentation](images, generator))
    assert module(inputs).shape == (4, 10)
    before = [p.detach().clone() for p in module.parameters()]
    optimizer = torch.optim.SGD(module.parameters(), lr=0.05)
    loss = module.training_step((inputs, labels), 0)
    loss.backward()
    optimizer.step()
    assert torch.isfinite(loss)
    assert any(not torch.equal(a, b) for a, b in zip(before, module.parameters()))


@pytest.mark.parametrize("name", list(PROBLEMS))
def test_a_sweep_config_takes_the_problems_defaults(name):
    config = SweepConfig(problem=name)
    assert {key: getattr(config, key) for key in PROBLEMS[name].defaults()} == PROBLEMS[name].defaults()


def test_declared_defaults_are_the_documented_protocols():
    assert PROBLEMS["seed_cnn"].defaults() == {"batch_size": 64, "max_epochs": 10, "augment": False,
                                               "target_acc": 0.6, "l2": 0.0}
    # DeepOBS cifar10_3c3d: batch 128, 100 epochs, weight decay 0.002 on the weights, data augmentation on.
    assert PROBLEMS["deepobs_3c3d"].defaults() == {"batch_size": 128, "max_epochs": 100, "augment": True,
                                                   "target_acc": 0.8, "l2": 0.002}
    assert PROBLEMS["resnet18"].target_acc == 0.85  # AlgoPerf's CIFAR-10 validation target


def test_flags_override_a_problems_defaults():
    parser = build_parser()
    (config,) = configs_from_args(parser.parse_args(["--problem", "deepobs_3c3d"]))
    assert (config.batch_size, config.max_epochs, config.augment, config.l2) == (128, 100, True, 0.002)
    (config,) = configs_from_args(parser.parse_args(
        ["--problem", "deepobs_3c3d", "--batch-size", "32", "--max-epochs", "3", "--no-augment", "--l2", "0",
         "--target-acc", "0.5"]))
    assert (config.batch_size, config.max_epochs, config.augment, config.l2, config.target_acc) == (32, 3, False, 0.0,
                                                                                                     0.5)
    (config,) = configs_from_args(parser.parse_args([]))
    assert (config.problem, config.batch_size, config.max_epochs, config.augment) == ("seed_cnn", 64, 10, False)


def test_several_problems_get_a_folder_each_one_problem_keeps_the_usual_folder(tmp_path):
    parser = build_parser()
    (single,) = configs_from_args(parser.parse_args(["--problem", "deepobs_3c3d", "--log-dir", str(tmp_path)]))
    assert single.sweep_dir == tmp_path / "sweep"
    configs = configs_from_args(parser.parse_args(["--problem", "seed_cnn", "deepobs_3c3d", "--log-dir",
                                                   str(tmp_path), "--name", "suite", "--batch-size", "16"]))
    assert [c.sweep_dir for c in configs] == [tmp_path / "suite" / "seed_cnn", tmp_path / "suite" / "deepobs_3c3d"]
    assert [c.batch_size for c in configs] == [16, 16]
    assert [c.max_epochs for c in configs] == [10, 100]  # each problem's own default where no flag was given


def test_a_sweep_folder_recorded_before_problems_existed_stays_resumable(tmp_path):
    config = SweepConfig(log_dir=str(tmp_path), name="old", dataset="synthetic", dataset_source="synthetic")
    protocol = {k: v for k, v in config.protocol().items() if k not in ("problem", "l2")}
    config.sweep_dir.mkdir(parents=True)
    (config.sweep_dir / "sweep.json").write_text(json.dumps({"protocol": protocol, "config": {}}))
    claim_sweep_folder(config)  # the seed CNN without an L2 term is what those folders hold
    other = dataclasses.replace(config, problem="deepobs_3c3d")
    with pytest.raises(OptlabError, match="problem"):
        claim_sweep_folder(other)


def test_deepobs_3c3d_matches_deepobs_parameter_count_and_shapes():
    # fsschneider/DeepOBS deepobs/tensorflow/testproblems/_3c3d.py: conv 5×5×64 "valid", pool 3/2 "same";
    # conv 3×3×96 "valid", pool; conv 3×3×128 "same", pool; dense 3·3·128→512, 512→256, 256→10.
    net = DeepOBS3c3d(10)
    shapes = {name: tuple(p.shape) for name, p in net.named_parameters()}
    assert shapes == {
        "conv1.weight": (64, 3, 5, 5), "conv1.bias": (64,), "conv2.weight": (96, 64, 3, 3), "conv2.bias": (96,),
        "conv3.weight": (128, 96, 3, 3), "conv3.bias": (128,), "dense1.weight": (512, 1152), "dense1.bias": (512,),
        "dense2.weight": (256, 512), "dense2.bias": (256,), "dense3.weight": (10, 256), "dense3.bias": (10,),
    }
    # 4,864 + 55,392 + 110,720 + 590,336 + 131,328 + 2,570
    assert sum(p.numel() for p in net.parameters()) == 895_210
    x = torch.randn(2, 3, 32, 32)
    x = net.pool(net.relu(net.conv1(x)))
    assert x.shape[1:] == (64, 14, 14)
    x = net.pool(net.relu(net.conv2(x)))
    assert x.shape[1:] == (96, 6, 6)
    x = net.pool(net.relu(net.conv3(x)))
    assert x.shape[1:] == (128, 3, 3)


@pytest.mark.parametrize("size", [28, 12, 6])
def test_ceil_mode_pooling_takes_tensorflows_same_padding_windows(size):
    # TF "same" with a 3×3 window at stride 2 pads one row and column at the bottom and right with -inf.
    x = torch.randn(2, 4, size, size)
    tf_same = F.max_pool2d(F.pad(x, (0, 1, 0, 1), value=float("-inf")), 3, 2)
    assert torch.equal(DeepOBS3c3d().pool(x), tf_same)


def test_deepobs_3c3d_initialization_follows_deepobs():
    torch.manual_seed(0)
    net = DeepOBS3c3d(10)
    assert all(float(b.abs().sum()) == 0 for name, b in net.named_parameters() if name.endswith("bias"))
    # Glorot uniform for dense layers: bound sqrt(6 / (fan_in + fan_out)).
    assert float(net.dense1.weight.abs().max()) <= (6 / (1152 + 512)) ** 0.5
    # TF's truncated Glorot normal: nothing beyond 2 std, and std sqrt(2 / (fan_in + fan_out)) overall.
    fan = 3 * 3 * 96 + 3 * 3 * 128
    std = (2 / fan) ** 0.5 / 0.87962566103423978
    assert float(net.conv3.weight.abs().max()) <= 2 * std + 1e-6
    assert float(net.conv3.weight.std()) == pytest.approx((2 / fan) ** 0.5, rel=0.02)


def test_l2_term_is_added_to_the_training_loss_on_weights_only():
    torch.manual_seed(0)
    module = ImageClassifier(optimizer="sgd", lr=0.1, problem="deepobs_3c3d", l2=0.002)
    images, labels = torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 2, 3])
    loss = module.training_step((images, labels), 0)
    weights = sum(float(p.pow(2).sum()) for name, p in module.net.named_parameters() if name.endswith("weight"))
    assert float(loss) - float(F.cross_entropy(module(images), labels)) == pytest.approx(0.001 * weights, rel=1e-4)
    plain = ImageClassifier(optimizer="sgd", lr=0.1, problem="deepobs_3c3d", l2=0.0)
    plain.load_state_dict(module.state_dict())
    assert float(plain.training_step((images, labels), 0)) == pytest.approx(float(F.cross_entropy(plain(images),
                                                                                                   labels)))


def test_saturation_adjustment_matches_hsv_arithmetic():
    torch.manual_seed(0)
    images = torch.rand(3, 3, 4, 4) * 255
    factors = torch.tensor([0.5, 1.4, 3.0])[:, None, None, None]
    adjusted = adjust_saturation(images, factors)
    for i in range(3):
        for row, col in ((0, 0), (1, 2), (3, 3)):
            h, s, v = colorsys.rgb_to_hsv(*(images[i, :, row, col] / 255).tolist())
            expected = colorsys.hsv_to_rgb(h, min(1.0, s * float(factors[i])), v)
            assert adjusted[i, :, row, col].tolist() == pytest.approx([255 * c for c in expected], abs=1e-3)


def test_per_image_standardization_and_deepobs_augmentation():
    images = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8)
    standardized = per_image_standardization(deepobs_augment(images, torch.Generator().manual_seed(1)))
    assert standardized.dtype == torch.float32 and standardized.shape == images.shape
    assert standardized.mean(dim=(1, 2, 3)).abs().max() < 1e-4
    assert standardized.std(dim=(1, 2, 3), correction=0).sub(1).abs().max() < 1e-4
    flat = per_image_standardization(torch.full((1, 3, 32, 32), 7, dtype=torch.uint8))
    assert torch.equal(flat, torch.zeros_like(flat))  # std floored at 1/sqrt(3072): no division by zero
    again = deepobs_augment(images, torch.Generator().manual_seed(1))
    assert torch.equal(again, deepobs_augment(images, torch.Generator().manual_seed(1)))


def test_a_sweep_on_a_problem_runs_with_its_defaults_and_records_the_problem(tmp_path):
    args = sweep_args(tmp_path, "d3", "--problem", "deepobs_3c3d", "--optimizers", "adam", "--synthetic-size", "100")
    args.remove("--batch-size"), args.remove("32")  # the problem's own batch size
    done = run_script(*args)
    assert done.returncode == 0, done.stderr[-2000:]
    (run,) = results(tmp_path, "d3").values()
    assert (run["problem"], run["batch_size"], run["augment"], run["augmentation"], run["l2"]) == (
        "deepobs_3c3d", 128, True, "deepobs", 0.002)
    assert run["epochs_run"] == 2  # --max-epochs 2 overrides the problem's 100
    assert json.loads((tmp_path / "d3" / "sweep.json").read_text())["protocol"]["problem"] == "deepobs_3c3d"
    report = subprocess.run([sys.executable, str(ROOT / "scripts" / "report.py"), str(tmp_path / "d3"), "--reference"],
                            capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert report.returncode == 0, report.stderr[-2000:]
    text = (tmp_path / "d3" / "report.md").read_text()
    assert "## Published reference" in text and "fig_reference.png" in text
    assert (tmp_path / "d3" / "fig_reference.png").read_bytes().startswith(b"\x89PNG")


def test_help_lists_the_problems_and_their_defaults():
    text = " ".join(build_parser().format_help().split())
    assert all(name in text for name in PROBLEMS)
    assert text.count("(default: the problem's)") == 5 and "the problem's) (default: None)" not in text
