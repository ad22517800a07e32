"""Typed records: every results file read into a record and written back field for field."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT, run_script, sweep_args

from optlab.problems import DEFAULT_PROBLEM
from optlab.records import PROTOCOL_DEFAULTS, DamagedRecord, ResultsFile, RunResult, SweepManifest

COMMITTED = sorted((ROOT / "docs").glob("**/results/*.json"))
MANIFESTS = sorted((ROOT / "docs").glob("**/sweep.json"))


def test_there_are_committed_results_to_check():
    assert COMMITTED


@pytest.mark.parametrize("path", COMMITTED, ids=lambda path: path.stem)
def test_committed_results_round_trip_field_for_field(path: Path):
    raw = json.loads(path.read_text())
    record = RunResult.from_json(raw, str(path))
    assert record.to_json() == raw
    assert record.run_id == path.stem
    assert record.epochs[0].step > 0 and record.epochs_run == len(record.epochs)


def test_a_fresh_result_is_all_declared_fields_and_round_trips(tmp_path: Path):
    done = run_script(*sweep_args(tmp_path, "records", "--optimizers", "adam", "--max-epochs", "1",
                                  "--limit-train-batches", "3"))
    assert done.returncode == 0, done.stderr
    (path,) = (tmp_path / "records" / "results").glob("*.json")
    raw = json.loads(path.read_text())
    record = RunResult.from_json(raw)
    assert dict(record.extra) == {}, "the runner writes a field the record does not declare"
    assert record.filled == frozenset(), "the runner leaves out a field the record declares"
    assert record.to_json() == raw
    results = json.loads((tmp_path / "records" / "results.json").read_text())
    assert ResultsFile.from_json(results).to_json() == results


def test_every_field_of_the_schema_is_a_field_of_the_record():
    schema = (ROOT / "docs" / "results-schema.md").read_text()
    section = schema.split("## `results/<run_id>.json`")[1].split("\n## ")[0]
    documented = {name for row in section.splitlines() if row.startswith("| `")
                  for name in re.findall(r"`([a-z_0-9]+)`", row.split("|")[1])}
    declared = set(RunResult.__dataclass_fields__)
    assert documented and documented <= declared, documented - declared


def test_an_older_layout_gets_its_values_and_is_written_back_unchanged():
    raw = json.loads(COMMITTED[0].read_text())
    for key in ("family", "status", "effective_batch_size", "world_size"):
        raw.pop(key, None)
    record = RunResult.from_json(raw)
    assert record.family == "adaptive" and record.status == "finished"
    assert record.world_size == 1 and record.effective_batch_size == raw["batch_size"]
    assert record.to_json() == raw


def test_unknown_fields_of_a_newer_layout_are_kept():
    raw = {**json.loads(COMMITTED[0].read_text()), "from_the_future": {"a": 1}}
    record = RunResult.from_json(raw)
    assert record.extra == {"from_the_future": {"a": 1}}
    assert record.to_json() == raw


@pytest.mark.parametrize(("key", "value", "says"), [
    ("test_acc", None, "test_acc is null"),
    ("test_acc", True, "test_acc is not a number"),
    ("seed", 1.5, "seed is not a whole number"),
    ("epochs", {"epoch": 1}, "epochs is not a list"),
])
def test_a_wrong_value_is_refused_naming_the_field(key, value, says):
    raw = {**json.loads(COMMITTED[0].read_text()), key: value}
    with pytest.raises(DamagedRecord, match=re.escape(says)):
        RunResult.from_json(raw, "r")


def test_a_missing_field_is_refused_naming_it():
    raw = json.loads(COMMITTED[0].read_text())
    del raw["test_loss"]
    with pytest.raises(DamagedRecord, match="no 'test_loss'"):
        RunResult.from_json(raw)


def test_records_import_no_torch():
    code = "import sys, optlab.records; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda path: path.parent.name)
def test_committed_manifests_round_trip_field_for_field(path: Path):
    raw = json.loads(path.read_text())
    manifest = SweepManifest.from_json(raw, str(path))
    assert manifest.to_json() == raw
    assert set(PROTOCOL_DEFAULTS) <= set(manifest.full_protocol)


def test_a_manifest_from_before_a_protocol_field_gets_the_value_its_runs_were_made_with():
    raw = {"protocol": {"max_epochs": 3}, "config": {"optimizers": ["adam"]}}
    manifest = SweepManifest.from_json(raw)
    assert manifest.world_size is None and manifest.search_spaces is None
    assert manifest.full_protocol["problem"] == DEFAULT_PROBLEM and manifest.full_protocol["val_every"] == 1.0
    assert manifest.to_json() == raw


def test_a_manifest_whose_protocol_is_not_a_mapping_is_refused():
    with pytest.raises(DamagedRecord, match="protocol is not a mapping"):
        SweepManifest.from_json({"protocol": [1], "config": {}}, "sweep.json")
