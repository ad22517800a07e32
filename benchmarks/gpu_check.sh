#!/usr/bin/env bash
# The GPU check, in one command on a machine with a CUDA GPU and python3 holding torch, lightning, torchmetrics,
# tensorboard and matplotlib (no package index needed):
#   bash benchmarks/gpu_check.sh [STEP ...]        (default: env cold warm seq detpar detseq bench)
# Steps: env cold warm seq detpar detseq bench eager profile. Each writes its log under $OUT (default
# ./gpu-check); the run ends with benchmarks/gpu_summary.py's table, made from the sweeps' own results files.
# Steps that would start after GPU_CHECK_BUDGET seconds (default 540) are skipped, so the summary always prints.
# Data: the CIFAR-10 image-folder archive at $CIFAR10_TARBALL (default .gpu/cifar10-jpg.tar.gz), unpacked
# to a scratch folder; or an unpacked image folder at $CIFAR10_DIR.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-gpu-check}"; mkdir -p "$out"
py="${PYTHON:-python3}"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
work="${GPU_CHECK_WORK:-/tmp/optlab-gpu-check}"; mkdir -p "$work"
steps=("$@"); [ ${#steps[@]} -eq 0 ] && steps=(env cold warm seq detpar detseq bench)
budget="${GPU_CHECK_BUDGET:-540}"; began=$SECONDS
left() { echo $(( budget - (SECONDS - began) )); }  # seconds of the budget still unspent
data="${CIFAR10_DIR:-}"
if [ -z "$data" ]; then
    data="$work/cifar10-jpg"
    [ -d "$data" ] || tar xzf "${CIFAR10_TARBALL:-.gpu/cifar10-jpg.tar.gz}" -C "$work" || exit 1
fi
sweep() {  # sweep NAME FLAGS...: the default sweep on the real data, wall-clock of the whole command
    local name=$1; shift
    local start end limit=${GPU_CHECK_SWEEP_TIMEOUT:-300}
    [ "$(left)" -lt "$limit" ] && limit=$(left)
    start=$(date +%s%N)
    # shellcheck disable=SC2086  # GPU_CHECK_FLAGS: extra flags for a dry run, e.g. on a CPU
    timeout "$limit" "$py" scripts/sweep.py --accelerator "${GPU_CHECK_ACCELERATOR:-gpu}" --data-dir "$data" --log-dir "$work/logs" \
        --name "$name" --restart --no-progress-bar ${GPU_CHECK_FLAGS:-} "$@" > "$out/sweep-$name.log" 2>&1
    local rc=$?
    end=$(date +%s%N)
    local ms=$(( (end - start) / 1000000 ))
    echo "{\"name\": \"$name\", \"rc\": $rc, \"wall_ms\": $ms, \"flags\": \"$*\"}" >> "$out/sweeps.jsonl"
    echo "sweep $name: rc $rc, $ms ms"; tail -n 3 "$out/sweep-$name.log"
}
for step in "${steps[@]}"; do
    if [ "$(left)" -le 20 ]; then echo "skipped $step: GPU_CHECK_BUDGET spent"; continue; fi
    case $step in
    env)
        nvidia-smi --query-gpu=name,memory.total,memory.free,compute_mode --format=csv | tee "$out/env.txt"
        # Imports one package at a time, in the order a sweep meets them: where the start-up seconds go.
        "$py" -c "import importlib, time; spent = {}
for name in ('torch', 'torchvision', 'torchmetrics', 'lightning', 'optlab.cli', 'optlab.run.runner'):
    t = time.perf_counter(); importlib.import_module(name); spent[name] = time.perf_counter() - t
import torch, lightning
print(f'torch {torch.__version__}, lightning {lightning.__version__}, cuda {torch.version.cuda}, '
      f'{torch.cuda.get_device_name(0)}; imports {sum(spent.values()):.1f} s: '
      + ', '.join(f'{name} {seconds:.1f}' for name, seconds in spent.items()))
from optlab.sweep.concurrency import plan_parallel, query_gpus
print('nvidia-smi:', query_gpus(), 'plan for 5 runs:', plan_parallel('auto', 5, 'gpu', 'auto', 'auto', 1))" \
            2>&1 | tee -a "$out/env.txt" ;;
    bench)
        timeout "$(left)" "$py" scripts/bench.py --accelerator gpu --no-sweep ${GPU_CHECK_BENCH:---steps 300 --repeats 3} --json "$out/bench.json" \
            > "$out/bench.log" 2>&1; echo "bench: rc $?"; tail -n 16 "$out/bench.log" ;;
    cold)
        rm -f "$data/.optlab-cache.pt"; rm -rf ~/.cache/optlab; sweep cold ;;
    warm) sweep warm ;;
    eager) sweep eager --cuda-graphs off ;;
    seq) sweep seq --parallel 1 ;;
    # The strict correctness check: deterministic kernels, so side by side and one at a time must agree bit for bit
    # (3 epochs are enough to show it; cuDNN's default kernels differ run to run, see the summary).
    detpar) sweep detpar --deterministic --max-epochs 3 ;;
    detseq) sweep detseq --deterministic --max-epochs 3 --parallel 1 ;;
    profile)
        "$py" -m cProfile -o "$out/profile.prof" scripts/sweep.py --accelerator gpu --data-dir "$data" \
            --log-dir "$work/logs" --name profile --restart --no-progress-bar --optimizers adam --max-epochs 2 \
            --parallel 1 --no-report > "$out/profile.log" 2>&1
        "$py" -c "import pstats; pstats.Stats('$out/profile.prof').sort_stats('tottime').print_stats(25)" \
            > "$out/profile-top.txt" 2>&1; head -n 60 "$out/profile-top.txt" | tail -n 35 ;;
    *) echo "unknown step $step"; exit 2 ;;
    esac
done
"$py" benchmarks/gpu_summary.py "$out" "$work/logs" | tee "$out/summary.txt"
