"""Re-make a sweep's report.md and figures from its saved results: python scripts/report.py <sweep folder>."""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from optlab.errors import OptlabError  # noqa: E402
from optlab.report.document import write_report  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="report.py", description=__doc__)
    parser.add_argument("sweep_dir", type=Path, help="a sweep folder: <log-dir>/<name> of scripts/sweep.py")
    args = parser.parse_args(argv)
    try:
        path = write_report(args.sweep_dir)
    except OptlabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: cannot write the report into {args.sweep_dir}: {error.strerror or error}", file=sys.stderr)
        return 2
    print(f"report: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
