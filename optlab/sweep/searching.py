"""A sweep's tuning and confirmation: rounds of one trial per optimizer, then the best of each on fresh seeds.

Every optimizer gets the same budget of trials (`--trials`) from its own Optuna study (search/study.py). A
round asks each optimizer for its next trial (or takes back one a dead process left unfinished), trains it at
the tuning seeds as ordinary runs, and tells the study its score: the mean final validation accuracy over the
tuning seeds (the report's selection score; test accuracy is never read). Once an optimizer's budget is spent
and told, its best trial is re-run on the confirmation seeds, which nothing was chosen on.

Which process trains what is settled by the run claims, as in a grid: processes that share the folder (and,
across machines, the study through --storage) take distinct trials; a trial whose process died is handed out
again under its own number, so its runs resume from their checkpoints and the search ends with the trials an
uninterrupted one would have.

A grid with --confirm-seeds confirms the same way: each optimizer's best lr on --seeds, re-run on them.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from optlab.records.result_files import read_record, records_of
from optlab.records.run_result import RunResult
from optlab.report.selection import choose, group_cells, selection_score
from optlab.search.spaces import constructor_defaults
from optlab.search.study import OptimizerStudy, Trial, storage_for
from optlab.sweep.config import RunSpec, SweepConfig
from optlab.sweep.ranks import Ranks, say
from optlab.sweep.run_claims import RunClaims, is_stale

JOURNAL = "search.journal"
Execute = Callable[[list[RunSpec]], tuple[dict[str, str], list[str]]]  # runs some specs: (failed, elsewhere)


def study_name(config: SweepConfig) -> str:
    """The same on every machine that runs the same command: the sweep folder as the command names it."""
    return Path(config.log_dir, config.name).as_posix()


def studies(config: SweepConfig) -> dict[str, OptimizerStudy]:
    """Each optimizer's study, in the sweep folder's journal file unless --storage names a database."""
    storage = storage_for(config.storage or config.sweep_dir / JOURNAL)
    return {name: OptimizerStudy(storage, study_name(config), name, space, constructor_defaults(name),
                                 config.search, config.search_seed)
            for name, space in config.search_spaces().items()}


def trial_runs(trial: Trial, seeds: Sequence[int], stage: str) -> list[RunSpec]:
    """A trial's configuration at each seed, as ordinary runs."""
    arguments = tuple(sorted(trial.arguments.items()))
    point = tuple(sorted(trial.point.items()))
    return [RunSpec(trial.optimizer, trial.lr, seed, stage, trial.number, arguments, point) for seed in seeds]


def mean_score(results: Sequence[RunResult | None]) -> float | None:
    """A configuration's score over its seeds: the mean selection score; None until every seed has one."""
    scores = [None if result is None else selection_score(result) for result in results]
    if not scores or any(score is None for score in scores):
        return None
    return sum(scores) / len(scores)


@dataclass
class SearchState:
    """What this process knows of the studies: trials it could not finish here are not handed out again."""

    config: SweepConfig
    studies: dict[str, OptimizerStudy]
    claims: RunClaims
    given_up: set[tuple[str, int]]

    def result(self, spec: RunSpec) -> RunResult | None:
        return read_record(self.config.sweep_dir / "results" / f"{spec.run_id}.json")

    def tell_finished(self) -> None:
        """Tell every study the scores of its trials whose tuning runs have all finished (by any process)."""
        for study in self.studies.values():
            for trial in study.pending():
                runs = trial_runs(trial, self.config.tuning_seeds, "tune")
                score = mean_score([self.result(spec) for spec in runs])
                if score is not None:
                    study.tell(trial.number, score)

    def _free(self, trial: Trial) -> bool:
        """A pending trial no live process is training: its process died, or has not claimed it yet."""
        if (trial.optimizer, trial.number) in self.given_up:
            return False
        holders = [self.claims.holder(spec.run_id) for spec in trial_runs(trial, self.config.tuning_seeds, "tune")]
        return all(holder is None or is_stale(holder, self.claims.stale_after) for holder in holders)

    def next_round(self) -> list[RunSpec]:
        """One trial per optimizer that still has budget: an abandoned one first, else a new one."""
        specs: list[RunSpec] = []
        for study in self.studies.values():
            trial = next((pending for pending in study.pending() if self._free(pending)), None)
            trial = trial or study.ask(self.config.trials)
            if trial is not None:
                specs += trial_runs(trial, self.config.tuning_seeds, "tune")
        return specs

    def give_up(self, specs: list[RunSpec], failed: dict[str, str]) -> None:
        """Trials whose runs failed here stay unfinished in the study (a rerun retries them), not retried now."""
        self.given_up |= {(spec.optimizer, spec.trial) for spec in specs if spec.run_id in failed}

    def best_trials(self) -> dict[str, Trial]:
        """Each optimizer whose budget is spent and told: its best trial on validation (ties: the earlier)."""
        best = {}
        for name, study in self.studies.items():
            told = study.told()
            if len(told) < self.config.trials or study.pending():
                say(f"{name}: {len(told)} of {self.config.trials} trials told; its confirmation runs wait for the "
                    "rest (trained by another process, or failed: rerun the same command)")
                continue
            scored = [(score, -trial.number, trial) for trial, score in told if score is not None]
            if not scored:
                say(f"{name}: no trial produced a validation score; nothing to confirm")
                continue
            best[name] = max(scored, key=lambda item: item[:2])[2]
        return best


def run_search(config: SweepConfig, execute: Execute, ranks: Ranks) -> tuple[dict[str, str], list[str]]:
    """Tune every optimizer to its budget in rounds, then confirm each one's best; (failed, elsewhere) runs."""
    state = None
    if ranks.rank == 0:
        state = SearchState(config, studies(config), RunClaims(config.sweep_dir, config.claim_timeout), set())
        state.tell_finished()  # runs a killed process finished but never told
    failed: dict[str, str] = {}
    elsewhere: list[str] = []
    round_number = 0
    while True:
        specs = ranks.broadcast(state.next_round() if state is not None else None)
        if not specs:
            break
        round_number += 1
        trials = ", ".join(f"{spec.optimizer} {spec.trial}" for spec in specs if spec.seed == specs[0].seed)
        say(f"search round {round_number} ({config.trials} trials each): trial {trials}")
        round_failed, round_elsewhere = execute(specs)
        failed.update(round_failed)
        elsewhere += round_elsewhere
        if state is not None:
            state.give_up(specs, round_failed)
            state.tell_finished()
    confirmations = None
    if state is not None:
        confirmations = [spec for trial in state.best_trials().values()
                         for spec in trial_runs(trial, config.confirmation_seeds, "confirm")]
    confirmations = ranks.broadcast(confirmations)
    if confirmations:
        say(f"confirming {len(confirmations) // len(config.confirmation_seeds)} best configurations on seeds "
            f"{' '.join(map(str, config.confirmation_seeds))}")
        more_failed, more_elsewhere = execute(confirmations)
        failed.update(more_failed)
        elsewhere += more_elsewhere
    return failed, elsewhere


def grid_confirmations(config: SweepConfig, results: Sequence[dict[str, Any]]) -> list[RunSpec]:
    """A grid's confirmation runs: each optimizer whose grid cells have all finished, at the lr the report chooses
    (report/selection.py: best mean final val accuracy over --seeds, ties to the smaller lr), on --confirm-seeds."""
    finished = {result["run_id"] for result in results}
    cells_of = group_cells([run for run in records_of(results) if run.stage == "grid"])
    runs: list[RunSpec] = []
    for name in config.optimizers:
        cells = [RunSpec(name, lr, seed).run_id for lr in config.lr_grid(name) for seed in config.seeds]
        choice = choose(name, cells_of[name]) if name in cells_of else None  # every --seed chooses: none judges
        if not set(cells) <= finished or choice is None or choice.selected is None:
            say(f"{name}: its grid has not finished here; its confirmation runs wait for it")
            continue
        runs += [RunSpec(name, choice.selected.lr, seed, "confirm") for seed in config.confirmation_seeds]
    return runs
