"""Run claims: one process per run, gone holders replaced, and two sweeps on one folder sharing the work."""

import json
import os
import re
import subprocess
import sys
import threading
import time

import pytest

from optlab.cli import main
from optlab.sweep.run_claims import RunClaims, is_stale, read_holder, this_host
from tests.helpers import ROOT, SWEEP, comparable, results, sweep_args


def write_claim(claims: RunClaims, run_id: str, host: str, pid: int, age: float = 0.0) -> None:
    """A claim file as another process would have left it, last refreshed `age` seconds ago."""
    path = claims.path(run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    now = time.time()
    path.write_text(json.dumps({"host": host, "pid": pid, "started": now - age, "token": "x",
                                "heartbeat": f"{now - age:020.6f}"}))
    os.utime(path, (now - age, now - age))


def ended_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.fixture
def sleeper():
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield process.pid
    process.kill()
    process.wait()


def test_a_run_is_held_by_one_claim_until_released(tmp_path):
    claims = RunClaims(tmp_path)
    first = claims.take("adam_lr0.01_seed0")
    assert first is not None and first.replaced is None
    holder = claims.holder("adam_lr0.01_seed0")
    assert (holder.host, holder.pid) == (this_host(), os.getpid())
    assert claims.take("adam_lr0.01_seed0") is None  # held and alive: nobody else gets it
    assert claims.take("sgd_lr0.01_seed0") is not None  # other runs are free
    first.release()
    assert not claims.path("adam_lr0.01_seed0").exists()
    assert claims.take("adam_lr0.01_seed0") is not None


def test_a_claim_whose_process_ended_on_this_host_is_taken_over(tmp_path, sleeper):
    claims = RunClaims(tmp_path)
    gone = ended_pid()
    write_claim(claims, "gone", this_host(), gone)
    write_claim(claims, "alive", this_host(), sleeper)
    taken = claims.take("gone")
    assert taken is not None and taken.replaced.pid == gone
    assert claims.holder("gone").pid == os.getpid()
    assert claims.take("alive") is None
    assert list(claims.live_holders()) == ["alive", "gone"]  # ours is live too


def test_a_claim_from_another_host_is_taken_over_only_after_the_timeout(tmp_path):
    claims = RunClaims(tmp_path, stale_after=60)
    write_claim(claims, "fresh", "elsewhere.example", 1, age=5)
    write_claim(claims, "silent", "elsewhere.example", 1, age=120)
    assert claims.take("fresh") is None  # its pid means nothing here: only the heartbeat counts
    taken = claims.take("silent")
    assert taken is not None and taken.replaced.host == "elsewhere.example"
    assert not is_stale(read_holder(claims.path("fresh")), 60) and is_stale(read_holder(claims.path("fresh")), 1)


def test_the_heartbeat_keeps_a_claim_fresh(tmp_path):
    claims = RunClaims(tmp_path, stale_after=0.5)  # a heartbeat every 0.05 s
    with claims.take("run") as claim:
        time.sleep(1.0)
        assert not is_stale(read_holder(claim.path), 0.5)
        assert claims.take("run") is None
        assert json.loads(claim.path.read_text())["pid"] == os.getpid()
    assert not claim.path.exists()


def race(claims: RunClaims, run_id: str, takers: int) -> list:
    """`takers` threads released at once to claim one run; the claims they got."""
    start, won = threading.Barrier(takers), []

    def take():
        start.wait()
        claim = claims.take(run_id)
        if claim is not None:
            won.append(claim)

    threads = [threading.Thread(target=take) for _ in range(takers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return won


def test_two_takers_of_one_gone_claim_cannot_both_win(tmp_path):
    for attempt in range(20):
        claims = RunClaims(tmp_path / str(attempt))
        write_claim(claims, "run", this_host(), ended_pid() if attempt == 0 else 2**22 + attempt)
        won = race(claims, "run", 4)
        assert len(won) == 1, attempt
        assert [path.name for path in claims.folder.iterdir()] == ["run.lock"]  # no guard left behind
        won[0].release()


def test_a_holder_judged_gone_learns_it_lost_the_claim_and_leaves_the_new_one(tmp_path):
    claims = RunClaims(tmp_path)
    claim = claims.take("run")
    claim.path.unlink()  # another process took it over: removed, then created its own
    write_claim(claims, "run", "elsewhere.example", 7)
    assert not claim.refresh() and claim.lost
    claim.release()
    assert claims.holder("run").host == "elsewhere.example"


GRID = ("--optimizers", "sgd", "adam", "--lr", "1e-2", "--seeds", "0", "1", "--max-epochs", "1",
        "--synthetic-size", "200")
STARTED = re.compile(r"^(?:run|resume) (\S+)\b.*\(\d+/\d+\)$")


def test_two_identical_sweeps_on_one_folder_train_each_run_once(tmp_path):
    assert main(sweep_args(tmp_path, "single", *GRID)) == 0
    args = [sys.executable, str(SWEEP), *sweep_args(tmp_path, "shared", *GRID)]
    processes = [subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
    outputs = [process.communicate(timeout=400) for process in processes]
    for process, (_, err) in zip(processes, outputs):
        assert process.returncode == 0, err[-2000:]
    trained = [[match[1] for line in out.splitlines() if (match := STARTED.match(line))] for out, _ in outputs]
    single, shared = results(tmp_path, "single"), results(tmp_path, "shared")
    assert sorted(trained[0] + trained[1]) == sorted(single)  # every run exactly once between the two
    assert trained[0] and trained[1], "one process did everything: the test did not run them side by side"
    assert set(shared) == set(single)
    for run_id, reference in single.items():
        assert comparable(shared[run_id]) == comparable(reference), run_id
    pids = {str(process.pid) for process in processes}
    for run_id, run in shared.items():
        folder = tmp_path / "shared" / run["optimizer"] / f"lr{run['lr']:g}_seed{run['seed']}"
        # events.out.tfevents.<time>.<host>.<pid>.<n> (fit and test may each open a file): all from one process
        writers = {path.name.rsplit(".", 2)[1] for path in folder.glob("events.out.tfevents.*")}
        assert len(writers) == 1 and writers <= pids, (run_id, writers)
    assert not list((tmp_path / "shared" / "claims").iterdir())  # every claim released


def test_restart_refuses_to_delete_a_folder_another_live_process_trains_in(tmp_path, sleeper, capsys):
    sweep = tmp_path / "busy"
    write_claim(RunClaims(sweep), "sgd_lr0.001_seed0", this_host(), sleeper)
    assert main(sweep_args(tmp_path, "busy", "--optimizers", "sgd", "--restart")) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "--restart would delete" in err and f"pid {sleeper}" in err
    assert (sweep / "claims" / "sgd_lr0.001_seed0.lock").is_file()  # nothing deleted
