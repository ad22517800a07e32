"""SIGTERM and SIGINT mid-sweep: the finished run is saved, the interrupted one is not recorded, one line says
how to resume, the exit code is 128 + the signal, and the same command finishes the sweep."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from optlab import hardware
from optlab.cli import main
from optlab.run import interrupts
from optlab.sweep import execute
from tests.helpers import ROOT, SWEEP, sweep_args

GRID = ("--optimizers", "sgd", "adam", "--lr", "1e-2", "--max-epochs", "4", "--synthetic-size", "200")


def signal_during_second_run(args: list[str], checkpoint, signum: int, timeout: float = 180):
    """Start the sweep, wait for the second run's first epoch checkpoint, send signum; (exit code, stderr)."""
    process = subprocess.Popen([sys.executable, str(SWEEP), *args], cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + timeout
    try:
        while not checkpoint.is_file():
            assert process.poll() is None, "the sweep ended before the signal: " + process.stderr.read()
            assert time.monotonic() < deadline, "no checkpoint appeared"
            time.sleep(0.02)
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return process.returncode, stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_saves_what_finished_and_the_same_command_resumes(tmp_path, capsys, signum):
    args = sweep_args(tmp_path, "stopped", *GRID)
    sweep = tmp_path / "stopped"
    checkpoint = sweep / "adam" / "lr0.01_seed0" / "checkpoints" / "last.ckpt"
    code, stderr = signal_during_second_run(args, checkpoint, signum)

    assert code == 128 + signum
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines[-1].startswith(f"interrupted by {signal.Signals(signum).name} during adam_lr0.01_seed0: "
                                "1 of 2 runs finished"), stderr
    assert lines[-1].endswith("resume with: python scripts/sweep.py " + " ".join(args)), lines[-1]
    assert not any("Traceback" in line or "Received SIGTERM" in line or "KeyboardInterrupt" in line
                   for line in lines), stderr
    listed = json.loads((sweep / "results.json").read_text())
    assert [run["run_id"] for run in listed["runs"]] == ["sgd_lr0.01_seed0"]
    assert listed["missing"] == ["adam_lr0.01_seed0"]
    assert not (sweep / "results" / "adam_lr0.01_seed0.json").exists()  # not recorded as if it had finished
    assert checkpoint.is_file()  # its last finished epoch, to resume from
    assert not (sweep / "claims" / "adam_lr0.01_seed0.lock").exists()  # released, not left to go stale

    assert main(args) == 0  # the same command, in this process (one start of torch fewer)
    out = capsys.readouterr().out
    assert "skip sgd_lr0.01_seed0: already finished" in out
    assert "resume adam_lr0.01_seed0" in out
    finished = {run["run_id"]: run for run in json.loads((sweep / "results.json").read_text())["runs"]}
    assert set(finished) == {"sgd_lr0.01_seed0", "adam_lr0.01_seed0"}
    assert finished["adam_lr0.01_seed0"]["resumed"]
    assert len(finished["adam_lr0.01_seed0"]["epochs"]) == 4


def test_cpu_bf16_support_reads_the_flags(tmp_path):
    avx2 = tmp_path / "avx2"
    avx2.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma\n\nprocessor\t: 1\nflags\t\t: fpu avx2\n")
    amx = tmp_path / "amx"
    amx.write_text("flags\t\t: avx2 avx512f avx512_bf16 amx_bf16\n")
    assert hardware.cpu_bf16_support(avx2) == (False, "AVX2")
    assert hardware.cpu_bf16_support(amx) == (True, "AVX-512")
    assert hardware.cpu_bf16_support(tmp_path / "absent") is None


def test_bf16_warns_only_on_a_cpu_without_native_bf16(monkeypatch):
    monkeypatch.setattr(hardware, "cpu_bf16_support", lambda: (False, "AVX2"))
    warning = hardware.bf16_cpu_warning("bf16-mixed", trains_on_cpu=True)
    assert warning.startswith("warning: --precision bf16-mixed on this CPU (no native bf16: AVX2 only)")
    assert "fp32" in warning and "\n" not in warning
    assert hardware.bf16_cpu_warning("32-true", trains_on_cpu=True) is None
    assert hardware.bf16_cpu_warning("bf16-mixed", trains_on_cpu=False) is None  # a GPU run
    monkeypatch.setattr(hardware, "cpu_bf16_support", lambda: (True, "AVX-512"))
    assert hardware.bf16_cpu_warning("bf16-mixed", trains_on_cpu=True) is None
    monkeypatch.setattr(hardware, "cpu_bf16_support", lambda: None)  # unknown CPU: no guess
    assert hardware.bf16_cpu_warning("bf16-mixed", trains_on_cpu=True) is None


def test_the_bf16_warning_prints_once_before_training(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(hardware, "cpu_bf16_support", lambda: (False, "AVX2"))
    monkeypatch.setattr(execute, "_warned", set())
    grid = ("--optimizers", "sgd", "adam", "--max-epochs", "1", "--synthetic-size", "200", "--limit-train-batches",
            "2", "--precision", "bf16-mixed")
    assert main(sweep_args(tmp_path, "bf16", *grid)) == 0
    assert main(sweep_args(tmp_path, "again", *grid)) == 0  # a second sweep in the same process
    lines = capsys.readouterr().out.splitlines()
    warnings = [index for index, line in enumerate(lines) if line.startswith("warning: --precision bf16-mixed")]
    first_run = next(index for index, line in enumerate(lines) if line.startswith("run "))
    assert len(warnings) == 1 and warnings[0] < first_run, lines


def test_a_signal_after_the_runs_still_gives_one_line_and_128_plus_signal(tmp_path, capsys, monkeypatch):
    import optlab.cli as cli

    def interrupted_report(sweep_dir, config):
        raise interrupts.SweepInterrupted(signal.SIGTERM)  # what the handler raises outside a run

    monkeypatch.setattr(cli, "_make_report", interrupted_report)
    args = [arg for arg in sweep_args(tmp_path, "late", "--optimizers", "sgd", "--max-epochs", "1", "--synthetic-size",
                                      "200", "--limit-train-batches", "2") if arg != "--no-report"]
    assert main(args) == 143
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "interrupted by SIGTERM: finished runs are saved; resume with: python scripts/sweep.py " \
        + " ".join(args)
    assert (tmp_path / "late" / "results" / "sgd_lr0.001_seed0.json").is_file()
