"""Nothing lost, nothing silent: damaged result files, damaged sweep folders, junk claims, leftover partial files
and run ids that would merge two lrs."""

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from optlab.errors import OptlabError
from optlab.records.order import run_id
from optlab.records.result_files import is_damaged, kept_records, read_result, set_aside
from optlab.records.run_spec import RunSpec
from optlab.sweep.config import SweepConfig
from optlab.sweep.execute import claim_sweep_folder, take_run
from optlab.sweep.run_claims import UNREADABLE_GRACE_SECONDS, RunClaims
from optlab.sweep.validation import check_unique_ids as _check_unique_ids
from tests.helpers import results, run_script, sweep_args

FAST = ("--optimizers", "adam", "--max-epochs", "1", "--limit-train-batches", "2")
SEED0, SEED1 = "adam_lr0.001_seed0", "adam_lr0.001_seed1"


def tiny_sweep(log_dir: Path, name: str, *extra: str):
    return run_script(*sweep_args(log_dir, name, *FAST, *extra))


def every_file(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A finished two-run sweep (seeds 0 and 1), copied by each test that changes it."""
    log_dir = tmp_path_factory.mktemp("finished")
    done = tiny_sweep(log_dir, "base", "--seeds", "0", "1")
    assert done.returncode == 0, done.stderr
    return log_dir / "base"


def copy_of(finished: Path, tmp_path: Path) -> Path:
    shutil.copytree(finished, tmp_path / "base")
    return tmp_path


def test_a_cut_short_result_is_kept_aside_and_trained_again(finished, tmp_path):
    log_dir = copy_of(finished, tmp_path)
    damaged = log_dir / "base" / "results" / f"{SEED0}.json"
    whole = damaged.read_bytes()
    damaged.write_bytes(whole[:len(whole) // 2])
    again = tiny_sweep(log_dir, "base", "--seeds", "0", "1")
    output = again.stdout + again.stderr
    assert again.returncode == 0, again.stderr
    assert f"results/{SEED0}.json is damaged: kept as {SEED0}.json.damaged, training it again" in output
    assert f"skip {SEED0}" not in output and f"skip {SEED1}: already finished" in output
    assert (damaged.parent / f"{SEED0}.json.damaged").read_bytes() == whole[:len(whole) // 2]
    assert read_result(damaged) is not None  # trained again, whole
    assert set(results(log_dir, "base")) == {SEED0, SEED1}


def test_results_json_keeps_the_record_of_a_run_whose_file_is_garbage(finished, tmp_path):
    """The run is not in this invocation's grid, so nothing retrains it: its only whole record is results.json's."""
    log_dir = copy_of(finished, tmp_path)
    recorded = results(log_dir, "base")[SEED0]
    garbage = log_dir / "base" / "results" / f"{SEED0}.json"
    garbage.write_bytes(b"\x00\xffnot json")
    again = tiny_sweep(log_dir, "base", "--seeds", "1")
    assert again.returncode == 0, again.stderr
    assert results(log_dir, "base")[SEED0] == recorded
    assert garbage.read_bytes() == b"\x00\xffnot json"  # not a run of this grid: left where it is, not deleted


def test_two_lrs_a_hair_apart_are_two_runs(tmp_path):
    done = tiny_sweep(tmp_path, "close", "--lrs", "1e-3", "1.0000001e-3")
    assert done.returncode == 0, done.stderr
    runs = results(tmp_path, "close")
    assert set(runs) == {"adam_lr0.001_seed0", "adam_lr0.0010000001_seed0"}
    assert sorted(run["lr"] for run in runs.values()) == [1e-3, 1.0000001e-3]
    # Their TensorBoard logs and checkpoints do not share a folder either.
    assert {path.name for path in (tmp_path / "close" / "adam").iterdir()} == {
        "lr0.001_seed0", "lr0.0010000001_seed0"}


def test_a_garbage_sweep_json_gives_one_line_and_writes_nothing(tmp_path):
    folder = tmp_path / "junk"
    folder.mkdir()
    (folder / "sweep.json").write_bytes(bytes(range(256)))
    before = every_file(tmp_path)
    refused = tiny_sweep(tmp_path, "junk")
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        f"error: {folder / 'sweep.json'} is damaged (not a sweep record: not JSON, or not the fields scripts/sweep.py "
        "writes); use --restart to start over or a new --name"]
    assert every_file(tmp_path) == before


def test_a_claims_file_in_the_way_gives_one_line_before_anything_is_written(tmp_path):
    folder = tmp_path / "blocked"
    folder.mkdir()
    (folder / "claims").write_text("not a folder")
    refused = tiny_sweep(tmp_path, "blocked")
    assert refused.returncode == 2
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: cannot make run claims in {folder / 'claims'}"), lines
    assert not (folder / "sweep.json").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder; the claims-file case covers it")
def test_a_read_only_claims_folder_is_one_error(tmp_path):
    claims = RunClaims(tmp_path)
    claims.folder.mkdir()
    claims.folder.chmod(0o500)
    try:
        with pytest.raises(OptlabError, match="cannot make run claims"):
            claims.check_writable()
    finally:
        claims.folder.chmod(0o700)


def test_a_junk_lock_past_the_grace_period_is_taken_over_at_once(tmp_path, capsys):
    config = SweepConfig(log_dir=str(tmp_path), name="locks", optimizers=["adam"])
    spec = RunSpec("adam", 1e-3, 0)
    claims = RunClaims(config.sweep_dir)  # the full 300 s timeout
    lock = claims.path(spec.run_id)
    lock.parent.mkdir(parents=True)
    lock.write_bytes(b"\x89PNG\x00\xff junk")
    age(lock, UNREADABLE_GRACE_SECONDS + 5)
    claim, message = take_run(config, spec, claims)
    assert claim is not None, message
    claim.release()
    assert message == f"run {spec.run_id}"
    assert f"claims/{spec.run_id}.lock is not a claim (unreadable); taking it over" in capsys.readouterr().out


def test_a_lock_file_just_created_is_left_to_its_taker(tmp_path):
    claims = RunClaims(tmp_path)
    lock = claims.path(SEED0)
    lock.parent.mkdir(parents=True)
    lock.write_bytes(b"")  # a taker's file between its exclusive create and its first write
    assert claims.take(SEED0) is None
    assert SEED0 in claims.live_holders()
    assert "not a claim yet" in claims.holder(SEED0).describe()


def test_the_report_removes_partial_files_a_killed_write_left(finished, tmp_path):
    from optlab.report.document import write_report

    folder = copy_of(finished, tmp_path) / "base"
    left = folder / ".fig_train_loss.png.4242.tmp"
    being_written = folder / ".fig_curves.png.4343.tmp"
    not_the_reports = folder / ".notes.txt.4242.tmp"
    for path in (left, being_written, not_the_reports):
        path.write_bytes(b"")
    age(left, 120)
    age(not_the_reports, 120)
    write_report(folder)
    assert not left.exists()
    assert being_written.exists() and not_the_reports.exists()
    assert (folder / "fig_train_loss.png").stat().st_size > 0


# Units: the rules the cases above rest on.

def test_a_result_is_whole_only_with_every_field_and_its_own_name(tmp_path):
    whole = {"run_id": "a", "optimizer": "adam", "lr": 1e-3, "seed": 0, "test_acc": 0.5, "epochs": []}
    cases = {"a": whole, "b": whole, "c": {**whole, "run_id": "c", "test_acc": None}}
    for name, record in cases.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(record))
    (tmp_path / "d.json").write_text(json.dumps({key: value for key, value in whole.items() if key != "test_acc"}))
    assert read_result(tmp_path / "a.json") == whole
    assert is_damaged(tmp_path / "b.json")  # names another run
    assert not is_damaged(tmp_path / "c.json")  # null is a value a run may produce
    assert is_damaged(tmp_path / "d.json")
    assert not is_damaged(tmp_path / "absent.json")


def test_set_aside_never_overwrites_an_earlier_copy(tmp_path):
    for text in ("first", "second"):
        (tmp_path / "r.json").write_text(text)
        set_aside(tmp_path / "r.json")
    assert (tmp_path / "r.json.damaged").read_text() == "first"
    assert (tmp_path / "r.json.damaged.1").read_text() == "second"


def test_a_damaged_results_json_is_set_aside_not_overwritten(tmp_path):
    summary = tmp_path / "results.json"
    summary.write_text("{\"runs\": [")
    records, kept = kept_records(summary, tmp_path / "results", set())
    assert records == [] and kept == tmp_path / "results.json.damaged"
    assert kept.read_text() == "{\"runs\": [" and not summary.exists()


def test_a_damaged_sweep_record_of_valid_json_is_one_line(tmp_path):
    config = SweepConfig(log_dir=str(tmp_path), name="listed")
    config.sweep_dir.mkdir()
    (config.sweep_dir / "sweep.json").write_text("[1, 2]")
    with pytest.raises(OptlabError, match="sweep.json is damaged"):
        claim_sweep_folder(config)


def test_run_ids_keep_their_old_text_and_split_what_it_merged():
    assert run_id("adam", 1e-3, 0) == "adam_lr0.001_seed0"
    assert run_id("sgd", 0.1, 2) == "sgd_lr0.1_seed2"
    assert run_id("adam", 3e-5, 0) == "adam_lr3e-05_seed0"
    assert run_id("adam", 1.0000001e-3, 0) == "adam_lr0.0010000001_seed0"
    assert run_id("adam", 10 ** -3.5, 0) != run_id("adam", float(f"{10 ** -3.5:g}"), 0)


def test_grid_validation_refuses_two_cells_with_one_id():
    with pytest.raises(OptlabError, match="would share the run id adam_lr0.001_seed0"):
        _check_unique_ids([RunSpec("adam", 1e-3, 0), RunSpec("adam", 1e-3, 0)])
