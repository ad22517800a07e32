"""Command line of scripts/sweep.py: flags to a SweepConfig, errors to one line and exit code 2."""

import copy
import shlex
import sys
import time
from pathlib import Path

from optlab.errors import OptlabError
from optlab.run import interrupts
from optlab.sweep import sweep_file
from optlab.sweep.advice import warn_before_training
from optlab.sweep.config import SweepConfig, problem_configs
from optlab.sweep.flags import build_parser
from optlab.sweep.schema import GIVEN_FIELDS

__all__ = ["build_parser", "config_from_args", "configs_from_args", "main"]


def config_from_args(args) -> SweepConfig:
    """The sweep of the first --problem (the only one, unless several are given)."""
    return configs_from_args(args)[0]


def configs_from_args(args) -> list[SweepConfig]:
    """One SweepConfig per --problem, from parse_args' settings (not yet validated)."""
    values = {item.name: copy.deepcopy(getattr(args, item.name)) for item in GIVEN_FIELDS if item.name != "problem"}
    return problem_configs(values, args.problems)


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)  # flags and the --config file, read
        configs = configs_from_args(args)
        for config in configs:  # every problem's settings checked before any of them runs
            config.validate()
    except OptlabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.print_config:  # the settings as given (lrs: auto stays auto), once they are known to be good
        print(sweep_file.dump(vars(args)), end="")
        return 0
    warn_before_training(configs[0])  # once the settings are good: a bad one is the only line printed
    resume = shlex.join(["python", "scripts/sweep.py", *(sys.argv[1:] if argv is None else argv)])
    status = 0
    with interrupts.handling():
        try:
            for config in configs:
                status = max(status, _sweep_one_problem(config, several=len(configs) > 1, resume=resume))
                if status == 2 or status > 128:
                    return status
            if len(configs) > 1:
                _write_cross_problem_summary(configs)
        except interrupts.SweepInterrupted as stopped:  # after the runs: writing the report or the summary
            print(interrupted_line(stopped, resume), file=sys.stderr)
            return stopped.exit_code
    return status


def _sweep_one_problem(config: SweepConfig, several: bool, resume: str = "python scripts/sweep.py") -> int:
    from optlab.records.result_files import records_of
    from optlab.report.table import results_table
    from optlab.sweep.execute import run_sweep
    from optlab.sweep.ranks import say

    if several:
        say(f"\n== problem {config.problem}: {config.sweep_dir} ==")
    try:
        outcome = run_sweep(config)
    except OptlabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except interrupts.SweepInterrupted as stopped:
        print(interrupted_line(stopped, resume), file=sys.stderr)
        return stopped.exit_code
    except KeyboardInterrupt:  # before the handlers were installed, or where they are not
        print(f"interrupted: finished runs are saved; resume with: {resume}", file=sys.stderr)
        return 130
    say("\n" + results_table(records_of(outcome.results)))
    say(f"\nresults: {outcome.sweep_dir / 'results.json'}")
    if config.report and outcome.results:
        started = time.perf_counter()
        _make_report(outcome.sweep_dir, config)
        outcome.phase_seconds["report"] = time.perf_counter() - started
    say("time: " + ", ".join(f"{phase} {seconds:.1f} s" for phase, seconds in outcome.phase_seconds.items())
        + f"; {time.process_time():.1f} s CPU in this process since it started")
    if outcome.missing:
        say(f"not yet run in this folder: {len(outcome.missing)} run(s) (other shards, or failed)")
    if outcome.failed:
        print(f"error: {len(outcome.failed)} run(s) failed: {', '.join(outcome.failed)}; "
              "fix the cause and run the same command to retry them", file=sys.stderr)
        return 1
    return 0


def interrupted_line(stopped: interrupts.SweepInterrupted, resume: str) -> str:
    """The one line a signal leaves: which run it stopped, what is saved, the command that resumes."""
    where = f" during {', '.join(stopped.run_ids)}" if stopped.run_ids else ""
    done = (f"{stopped.finished} of {stopped.planned} runs finished, saved in results.json"
            if stopped.finished is not None else "finished runs are saved")
    return f"interrupted by {stopped.name}{where}: {done}; resume with: {resume}"


def _write_cross_problem_summary(configs: list[SweepConfig]) -> None:
    from optlab.sweep.ranks import global_rank, say

    if global_rank() != 0:
        return
    from optlab.report.cross_problem_files import write_cross_problem_summary

    parent = Path(configs[0].log_dir)
    try:
        path = write_cross_problem_summary(parent, [config.problem for config in configs])
    except (OptlabError, OSError) as error:
        print(f"error: cross-problem summary not written ({error}); retry with: python scripts/report.py {parent}",
              file=sys.stderr)
        return
    say(f"cross-problem summary: {path}")


def _make_report(sweep_dir, config: SweepConfig) -> None:
    from optlab.sweep.ranks import global_rank, say

    if global_rank() != 0:
        return
    from optlab.report.document import write_report

    try:
        path = write_report(sweep_dir, error_control=config.error_control)
    except (OptlabError, OSError) as error:
        # The runs are saved; a report can be made again later with scripts/report.py.
        print(f"error: report not written ({error}); retry with: python scripts/report.py {sweep_dir}",
              file=sys.stderr)
        return
    say(f"report:  {path}")
