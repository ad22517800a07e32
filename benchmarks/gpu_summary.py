"""The GPU check's summary table, from the sweeps' own results files: python benchmarks/gpu_summary.py OUT LOGS.

OUT holds sweeps.jsonl (one line per timed sweep command: name, exit code, wall-clock) and bench.json (the
bench's images/s per row); LOGS holds the sweep folders. Prints one table and the correctness checks.
"""

import json
import statistics
import sys
from pathlib import Path

SEED_ROW = "seed"  # the seed pipeline's row in bench.json
# Without --deterministic, cuDNN's backward kernels sum in a varying order, so any two runs of one configuration
# (side by side or not) drift apart like different seeds do a little; one point of test accuracy is within the
# seed noise measured for this network (about ±1 point, see the CIFAR-10 reference figures). An unstable run
# (rmsprop at lr 1e-3 swings by up to 10 points between epochs) can exceed it: that check only informs. The
# strict check is the deterministic pair, which must agree bit for bit.
TOLERANCE = 0.01
# What a deterministic run must reproduce exactly, besides its per-epoch records.
EXACT_FIELDS = ("initial_weights", "test_acc", "test_loss", "final_train_loss", "final_train_acc", "steps")


def load_sweeps(out: Path, logs: Path) -> dict[str, dict]:
    sweeps = {}
    for line in (out / "sweeps.jsonl").read_text().splitlines() if (out / "sweeps.jsonl").is_file() else []:
        entry = json.loads(line)
        results_file = logs / entry["name"] / "results.json"
        entry["runs"] = json.loads(results_file.read_text())["runs"] if results_file.is_file() else []
        sweeps[entry["name"]] = entry
    return sweeps


def row(entry: dict, seed_rate: float | None) -> str:
    runs, wall = entry["runs"], entry["wall_ms"] / 1000
    images = sum(run["train_images"] for run in runs)
    throughput = images / wall if wall else 0.0

    def mean_phase(name: str) -> float:
        values = [run.get("phase_seconds", {}).get(name, 0.0) for run in runs]
        return statistics.mean(values) if values else 0.0

    per_run = statistics.mean(run["images_per_second"] for run in runs) if runs else 0.0
    vs_seed = f"{throughput / seed_rate:5.1f}x" if seed_rate else "    -"
    concurrency = sorted({run.get("concurrent_runs", 1) for run in runs})
    return (f"{entry['name']:<8} {entry['rc']:>3} {wall:7.1f} {len(runs):>4} {throughput:9.0f} {vs_seed} "
            f"{per_run:9.0f} {mean_phase('setup'):6.1f} {mean_phase('train'):6.1f} {mean_phase('validation'):6.1f} "
            f"{mean_phase('test') + mean_phase('train_subset_eval'):6.1f} {mean_phase('total'):6.1f} "
            f"{','.join(map(str, concurrency)):>5}  {entry['flags']}")


def matched_runs(reference: dict, other: dict) -> tuple[bool, list[tuple[str, dict, dict]]]:
    """Whether both sweeps hold the same (non-empty) runs, and each run both hold, as (run_id, reference, other)."""
    ref = {run["run_id"]: run for run in reference["runs"]}
    got = {run["run_id"]: run for run in other["runs"]}
    return set(ref) == set(got) and bool(ref), [(key, ref[key], got[key]) for key in sorted(set(ref) & set(got))]


def compare(reference: dict, other: dict) -> list[str]:
    """Same runs, same initial weights, test accuracy within TOLERANCE: the side-by-side sweep is correct."""
    ok, pairs = matched_runs(reference, other)
    lines = []
    for run_id, a, b in pairs:
        same_start = a["initial_weights"] == b["initial_weights"]
        delta = b["test_acc"] - a["test_acc"]
        ok = ok and same_start and abs(delta) <= TOLERANCE
        lines.append(f"  {run_id:<24} test {a['test_acc']:.4f} vs {b['test_acc']:.4f} (Δ {delta:+.4f}), "
                     f"same initial weights: {same_start}")
    verdict = "PASS" if ok else "FAIL"
    head = f"{other['name']} vs {reference['name']}: {verdict} (|Δ test acc| <= {TOLERANCE:.2f} for every run)"
    return [head] + lines


def compare_exact(reference: dict, other: dict) -> list[str]:
    """Deterministic kernels: every run side by side equals the same run alone, bit for bit."""
    ok, pairs = matched_runs(reference, other)
    lines = []
    for run_id, a, b in pairs:
        differing = [key for key in EXACT_FIELDS if a.get(key) != b.get(key)]
        if [_epoch_numbers(e) for e in a["epochs"]] != [_epoch_numbers(e) for e in b["epochs"]]:
            differing.append("epochs")
        flags = all(run.get("deterministic") for run in (a, b))
        ok = ok and not differing and flags
        lines.append(f"  {run_id:<24} test {a['test_acc']:.6f} vs {b['test_acc']:.6f}, deterministic: {flags}, "
                     f"cuda graphs: {a.get('cuda_graphs')}/{b.get('cuda_graphs')}, "
                     f"{'identical' if not differing else 'differ in ' + ', '.join(differing)}")
    verdict = "PASS" if ok else "FAIL"
    head = f"{other['name']} vs {reference['name']}: {verdict} (deterministic kernels: every run bit-identical)"
    return [head] + lines


def _epoch_numbers(epoch: dict) -> dict:
    return {key: value for key, value in epoch.items() if key != "train_seconds"}


def check_auto_plan(entry: dict) -> str:
    """--parallel auto on this machine: what nvidia-smi's free memory plans now, and what the runs recorded."""
    from optlab.sweep.concurrency import plan_parallel

    plan = plan_parallel("auto", len(entry["runs"]), "gpu", "auto", "auto", 1)
    recorded = sorted({run.get("concurrent_runs") for run in entry["runs"]})
    ok = recorded == [plan.workers]
    return (f"--parallel auto: nvidia-smi plans {plan.workers} runs at once on GPUs {list(plan.devices)}; "
            f"the {entry['name']} sweep's runs recorded concurrent_runs {recorded}: {'PASS' if ok else 'FAIL'}")


def main(out: Path, logs: Path) -> int:
    bench = json.loads((out / "bench.json").read_text()) if (out / "bench.json").is_file() else {}
    seed_rate = bench.get(SEED_ROW)
    sweeps = load_sweeps(out, logs)
    print("\nbench images/s (median): " + ", ".join(f"{key} {value:.0f}" for key, value in bench.items()))
    print(f"\n{'sweep':<8} {'rc':>3} {'wall s':>7} {'runs':>4} {'images/s':>9} {'vs seed':>6} {'per run':>9} "
          f"{'setup':>6} {'train':>6} {'val':>6} {'eval':>6} {'run':>6} {'conc':>5}  flags")
    for entry in sweeps.values():
        print(row(entry, seed_rate))
    print("(images/s: training images of all runs / the command's wall-clock; per run: each run's own training "
          "images/s; setup/train/val/eval/run: mean seconds per run; conc: runs planned on the run's GPU)")
    if "warm" in sweeps:
        print(check_auto_plan(sweeps["warm"]))
    if "detseq" in sweeps and "detpar" in sweeps:
        print("\n".join(compare_exact(sweeps["detseq"], sweeps["detpar"])))
    if "seq" in sweeps:
        print("default kernels (informative, see TOLERANCE):")
        for name in ("warm", "eager", "cold"):
            if name in sweeps:
                print("\n".join(compare(sweeps["seq"], sweeps[name])))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
