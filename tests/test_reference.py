import json
import statistics

import pytest

from optlab.errors import OptlabError
from optlab.report.reference import (
    REFERENCE_DIR,
    comparison_rows,
    load_reference,
    reference_section,
    sweep_sides,
    write_reference_comparison,
)
from optlab.report.sweep_record import load_sweep_record
from tests.helpers import whole_result

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_reference_file_keeps_its_source_and_license_and_holds_whole_curves():
    reference = load_reference("deepobs_3c3d")
    assert reference["source"]["repository"] == "https://github.com/fsschneider/DeepOBS"
    assert len(reference["source"]["commit"]) == 40
    notice = (REFERENCE_DIR / "README.md").read_text()
    assert "MIT License" in notice and reference["source"]["commit"] in notice
    # DeepOBS's best learning rates for cifar10_3c3d (their 36-point grid): SGD 0.0631, Momentum/Adam 3.98e-4.
    assert {name: entry["lr"] for name, entry in reference["optimizers"].items()} == pytest.approx(
        {"sgd": 0.063095734448, "momentum": 0.00039810717055, "adam": 0.00039810717055})
    assert reference["optimizers"]["momentum"]["hyperparams"]["momentum"] == 0.99
    for entry in reference["optimizers"].values():
        assert entry["runs"] and len({run["seed"] for run in entry["runs"]}) == len(entry["runs"])
        for run in entry["runs"]:
            assert len(run["test_accuracies"]) == 101 and all(0 <= a <= 1 for a in run["test_accuracies"])
            assert run["test_accuracies"][0] < 0.2 < 0.8 < max(run["test_accuracies"])  # untrained, then trained


def test_problems_without_a_reference_fail_in_one_line():
    with pytest.raises(OptlabError, match="no published reference curves for problem 'seed_cnn'"):
        load_reference("seed_cnn")


def _run(seed, val_by_epoch, test):
    epochs = [{"epoch": e, "step": 10 * e, "val_acc": v} for e, v in enumerate(val_by_epoch, 1)]
    return whole_result({"run_id": f"adam_lr0.000398107_seed{seed}", "optimizer": "adam", "lr": 0.00039810717055,
                         "seed": seed, "final_val_acc": val_by_epoch[-1], "test_acc": test, "epochs_run": len(epochs),
                         "epochs": epochs})


def _write_sweep(folder, runs, problem="deepobs_3c3d"):
    (folder / "results").mkdir(parents=True)
    protocol = {"problem": problem, "max_epochs": 2, "optimizer_kwargs": {}}
    config = {"optimizers": ["adam"], "lrs": [0.00039810717055], "seeds": [r["seed"] for r in runs], "max_epochs": 2}
    (folder / "sweep.json").write_text(json.dumps({"protocol": protocol, "config": config}))
    for run in runs:
        (folder / "results" / f"{run['run_id']}.json").write_text(json.dumps(run))
    return folder


def test_comparison_rows_against_the_published_mean_and_spread(tmp_path):
    reference = load_reference("deepobs_3c3d")
    published = [run["test_accuracies"] for run in reference["optimizers"]["adam"]["runs"]]
    theirs_1 = statistics.fmean(curve[1] for curve in published)
    theirs_2 = statistics.fmean(curve[2] for curve in published)
    # epoch 1 within a hair of DeepOBS's mean; epoch 2 twenty points below: beyond any seed spread
    folder = _write_sweep(tmp_path / "adam", [_run(0, [theirs_1 + 0.001, theirs_2 - 0.2], theirs_2 - 0.2)])
    record = load_sweep_record(folder)
    (side,) = sweep_sides([record], reference)
    rows = comparison_rows(side, reference)
    assert [(row["epoch"], row["metric"]) for row in rows] == [(1, "val acc"), (2, "val acc"), (2, "test acc")]
    assert rows[0]["theirs"][0] == pytest.approx(theirs_1) and not rows[0]["beyond_spread"]
    assert rows[1]["gap"] == pytest.approx(-0.2) and rows[1]["beyond_spread"]
    assert rows[1]["spread"] == pytest.approx(statistics.stdev(curve[2] for curve in published))
    lines, figure = reference_section(record)
    assert figure.read_bytes().startswith(PNG_SIGNATURE)
    assert any("⚠" in line and "| 2 | val acc" in line for line in lines)


def test_a_comparison_over_several_sweeps_and_a_mismatch_of_problems(tmp_path):
    first = _write_sweep(tmp_path / "a", [_run(0, [0.5, 0.6], 0.6)])
    path = write_reference_comparison([first], tmp_path / "out")
    assert "DeepOBS" in path.read_text() and (tmp_path / "out" / "fig_reference.png").is_file()
    other = _write_sweep(tmp_path / "b", [_run(0, [0.5, 0.6], 0.6)], problem="seed_cnn")
    with pytest.raises(OptlabError, match="share one problem"):
        write_reference_comparison([first, other], tmp_path / "out2")
