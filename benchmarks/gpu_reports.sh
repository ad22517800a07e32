#!/usr/bin/env bash
# The published reports, made on a GPU machine in as many invocations as they need (each resumes the last):
#   bash benchmarks/gpu_reports.sh comparison   # every registry optimizer, own lr grid, 3 seeds, 10 epochs,
#                                               # augmentation, on seed_cnn and deepobs_3c3d
#   bash benchmarks/gpu_reports.sh deepobs      # deepobs_3c3d, 100 epochs, DeepOBS's best lrs, 3 seeds
# Needs what benchmarks/gpu_check.sh needs (python3 with torch, lightning, torchmetrics, tensorboard and
# matplotlib; the CIFAR-10 image-folder archive at .gpu/cifar10-jpg.tar.gz) plus the optimizer packages as
# wheels in .whl/ (schedulefree, prodigyopt, pytorch-optimizer; see BENCHMARKS.md). Sweep folders live in
# .gpu/logs: bring .gpu back between invocations (the results files are all a resume needs: finished runs are
# skipped, an interrupted one starts over). REPORTS_BUDGET (seconds, default 480) stops the sweep in time to
# pack what finished into $OUT/reports.tgz; unpack it into .gpu/logs before the next invocation.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-gpu-reports}"; mkdir -p "$out" .gpu/logs
py="${PYTHON:-python3}"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if [ -d .whl ] && ls .whl/*.whl > /dev/null 2>&1; then
    "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/optlab-site .whl/*.whl \
        && export PYTHONPATH="$PYTHONPATH:/tmp/optlab-site"
fi
data="${CIFAR10_DIR:-/tmp/optlab-reports/cifar10-jpg}"
if [ ! -d "$data" ]; then
    mkdir -p "$(dirname "$data")" && tar xzf "${CIFAR10_TARBALL:-.gpu/cifar10-jpg.tar.gz}" -C "$(dirname "$data")" || exit 1
fi
budget="${REPORTS_BUDGET:-480}"
common=(--accelerator "${REPORTS_ACCELERATOR:-gpu}" --data-dir "$data" --log-dir .gpu/logs --no-progress-bar)
case "${1:-}" in
comparison)
    # seed_cnn runs are host-bound (about 3 ms a step): ten side by side keep one H100 busier than five.
    timeout "$budget" "$py" scripts/sweep.py --config configs/all-optimizers.yaml --problem seed_cnn deepobs_3c3d \
        --name all-optimizers --parallel "${REPORTS_PARALLEL:-10}" "${common[@]}" ${REPORTS_FLAGS:-} \
        2>&1 | tee "$out/comparison.log" | grep -v "^\s*$" | tail -n 40 ;;
deepobs)
    timeout "$budget" "$py" scripts/sweep.py --problem deepobs_3c3d --name deepobs-3c3d-100 --seeds 0 1 2 \
        --optimizers sgd momentum adam --lrs sgd=0.063095734448 momentum=0.00039810717055 adam=0.00039810717055 \
        --optimizer-args momentum.momentum=0.99 --parallel 9 "${common[@]}" ${REPORTS_FLAGS:-} \
        2>&1 | tee "$out/deepobs.log" | grep -v "^\s*$" | tail -n 40
    "$py" scripts/report.py .gpu/logs/deepobs-3c3d-100 --reference 2>&1 | tail -n 3 ;;
*) echo "usage: bash benchmarks/gpu_reports.sh comparison|deepobs"; exit 2 ;;
esac
# What a resume needs (results files, sweep.json) and what is published (reports, figures, summaries), packed.
(cd .gpu/logs && find . \( -name '*.json' -o -name '*.md' -o -name '*.png' \) -not -path '*/checkpoints/*' -print0 \
    | tar czf "$(cd - > /dev/null && cd "$out" && pwd)/reports.tgz" --null -T -)
echo "packed $(du -h "$out/reports.tgz" | cut -f1) into $out/reports.tgz"
