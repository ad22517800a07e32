"""Re-make a sweep's report.md and figures from its saved results: python scripts/report.py <sweep folder>.

A folder of a several-problem sweep (one sweep folder per problem) gets each problem's report and the
cross-problem summary. --reference overlays the published curves of the sweep's problem; --compare-reference
OUT writes one comparison over several sweeps of one problem (e.g. one sweep per optimizer) into OUT.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from optlab.errors import OptlabError  # noqa: E402
from optlab.report.cross_problem_files import find_problem_folders, write_cross_problem_summary  # noqa: E402
from optlab.report.document import REPORT_NAME, unfinished_line, write_report  # noqa: E402
from optlab.report.sweep_record import load_sweep_record  # noqa: E402


def make_reports(folders: list[Path], reference: bool, compare_reference: Path | None,
                 error_control: str = "fwer") -> list[Path]:
    if compare_reference is not None:
        from optlab.report.reference import write_reference_comparison

        return [write_reference_comparison(folders, compare_reference)]
    written = []
    for folder in folders:
        problems = [] if (folder / "sweep.json").is_file() else find_problem_folders(folder)
        if not problems:
            written.append(write_report(folder, reference=reference, error_control=error_control))
            continue
        written += [write_report(folder / problem, error_control=error_control) for problem in problems]
        written.append(write_cross_problem_summary(folder, problems))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="report.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sweep_dirs", type=Path, nargs="+", metavar="sweep_dir",
                        help="a sweep folder: <log-dir>/<name> of scripts/sweep.py")
    parser.add_argument("--reference", action="store_true",
                        help="overlay the published reference curves of the sweep's problem (deepobs_3c3d)")
    parser.add_argument("--compare-reference", type=Path, default=None, metavar="OUT",
                        help="write reference.md and fig_reference.png into OUT, comparing all given sweeps "
                             "(one problem) with the published curves")
    parser.add_argument("--error-control", choices=("fwer", "fdr"), default="fwer",
                        help="the correction over all of a report's verdicts: fwer (Holm: the chance of any false "
                             "verdict at most 5%%) or fdr (Benjamini-Hochberg: false verdicts at most 5%% of those "
                             "made, on average); default fwer")
    args = parser.parse_args(argv)
    try:
        written = make_reports(args.sweep_dirs, args.reference, args.compare_reference, args.error_control)
    except OptlabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: cannot write the report: {error.strerror or error}", file=sys.stderr)
        return 2
    for path in written:
        print(f"report: {path}")
        unfinished = unfinished_line(load_sweep_record(path.parent)) if path.name == REPORT_NAME else None
        if unfinished:
            print(unfinished)
    return 0


if __name__ == "__main__":
    sys.exit(main())
