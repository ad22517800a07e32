"""Compare optimizers on CIFAR-10: python scripts/sweep.py --help."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from optlab.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
