#!/usr/bin/env bash
# Run a command inside the project's virtual environment, creating or updating it first.
#   bash scripts/run.sh python scripts/sweep.py --accelerator gpu
#   bash scripts/run.sh pytest
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
python="${PYTHON:-python3}"
stamp="$venv/.optlab-installed"
want="$(cat "$root/pyproject.toml" "$root/scripts/run.sh" | sha256sum | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "setting up $venv (first run, or pyproject.toml changed)..." >&2
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install -q --upgrade pip
    # torch and torchvision as a matched pair: mismatched releases fail at import.
    "$venv/bin/python" -m pip install -q "torch==2.14.1" "torchvision==0.29.1"
    "$venv/bin/python" -m pip install -q -e "$root[dev]"
    echo "$want" > "$stamp"
fi
cd "$root"
export PATH="$venv/bin:$PATH"
exec "$@"
