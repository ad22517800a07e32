"""The world-size check reads each result once per version, not every result before every run."""

import json

import pytest

import optlab.sweep.results as results_module
from optlab.errors import OptlabError
from optlab.sweep.results import check_world_size


def write_result(folder, run_id, world_size, padding=""):
    record = {"run_id": run_id, "optimizer": "adam", "lr": 1e-3, "seed": 0, "test_acc": 0.5, "epochs": [],
              "world_size": world_size, "note": padding}
    (folder / f"{run_id}.json").write_text(json.dumps(record))


def test_each_result_is_read_once_and_a_rewritten_one_again(tmp_path, monkeypatch):
    folder = tmp_path / "results"
    folder.mkdir()
    for index in range(3):
        write_result(folder, f"run{index}", 1)
    reads = []
    real = results_module.read_result
    monkeypatch.setattr(results_module, "read_result", lambda path: reads.append(path.name) or real(path))
    check_world_size(tmp_path, 1)
    check_world_size(tmp_path, 1)
    assert sorted(reads) == ["run0.json", "run1.json", "run2.json"]
    write_result(folder, "run1", 2, padding="a new version")  # e.g. a folder started over at another size
    with pytest.raises(OptlabError, match="world size 2 \\(run1\\)"):
        check_world_size(tmp_path, 1)
    assert reads.count("run1.json") == 2


def test_a_damaged_result_does_not_count_and_is_read_again(tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "cut.json").write_text('{"run_id": "cut", "world_si')
    check_world_size(tmp_path, 4)
    write_result(folder, "cut", 2)
    with pytest.raises(OptlabError, match="world size 2"):
        check_world_size(tmp_path, 4)
