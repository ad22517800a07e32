"""An equal-budget search per optimizer, kept in an Optuna study so that it survives kills and spans machines.

Each optimizer of a sweep has its own study (`<sweep>/<optimizer>`) and the same budget of trials. The study
lives in Optuna's storage: by default a journal file in the sweep folder (safe for several processes on one
machine or on shared storage), or any database URL Optuna takes (`postgresql://...` for many machines).

Proposals never depend on which process asks or on earlier kills:
- `random` and `qmc` draw trial n's point from (seed, optimizer, n) alone: a seeded uniform draw, or point n
  of a scrambled Sobol sequence (the quasi-random search of AlgoPerf's external tuning ruleset). Two processes
  asking at once get different trial numbers, hence different points; a rerun proposes the same ones.
- `tpe` is Optuna's TPE sampler, seeded for trial n by (seed, optimizer, n), so a rerun after a kill proposes what
  an uninterrupted search would have, given the same finished trials.
A trial asked but never told (its process was killed) stays running in the study and is handed out again with
its own point, so its run resumes from its checkpoint instead of being lost or duplicated.
"""

import math
import time
import warnings
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, FloatDistribution
from optuna.trial import FrozenTrial, TrialState

from optlab.errors import OptlabError
from optlab.search.spaces import Param, optimizer_arguments

SEARCHES = ("grid", "random", "qmc", "tpe")  # grid: the lr grid of --lrs, no study
JOURNAL = "search.journal"

optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line per trial would bury the sweep's own


@dataclass(frozen=True)
class Trial:
    """One proposed configuration of one optimizer: its point in the search space and the run arguments."""

    optimizer: str
    number: int
    point: dict[str, float]
    lr: float
    arguments: dict[str, Any]


def distributions(space: Sequence[Param]) -> dict[str, BaseDistribution]:
    return {param.name: FloatDistribution(param.low, param.high, log=param.log) for param in space}


def from_unit(param: Param, unit: float) -> float:
    """A point of [0, 1) mapped onto the parameter's range, on its scale."""
    if param.log:
        return math.exp(math.log(param.low) + unit * (math.log(param.high) - math.log(param.low)))
    return param.low + unit * (param.high - param.low)


def _stream(seed: int, optimizer: str) -> list[int]:
    return [seed, zlib.crc32(optimizer.encode())]


def unit_point(search: str, seed: int, optimizer: str, number: int, dimensions: int) -> np.ndarray:
    """Trial number's point in the unit cube: a function of its arguments alone."""
    if search == "random":
        return np.random.default_rng([*_stream(seed, optimizer), number]).random(dimensions)
    if search == "qmc":
        from scipy.stats import qmc

        sobol = qmc.Sobol(dimensions, scramble=True, rng=np.random.default_rng(_stream(seed, optimizer)))
        if number:
            sobol.fast_forward(number)
        with warnings.catch_warnings():  # Sobol's balance note for sample counts that are not powers of 2
            warnings.simplefilter("ignore")
            return sobol.random(1)[0]
    raise ValueError(f"no fixed design for search {search!r}")


class FixedDesignSampler(optuna.samplers.BaseSampler):
    """random / qmc as an Optuna sampler: trial n gets unit_point(n), whoever asks and whenever."""

    def __init__(self, search: str, seed: int, optimizer: str, space: Sequence[Param]) -> None:
        self.search, self.seed, self.optimizer = search, seed, optimizer
        self.params = {param.name: (index, param) for index, param in enumerate(space)}

    def infer_relative_search_space(self, study, trial) -> dict[str, BaseDistribution]:
        return {}

    def sample_relative(self, study, trial, search_space) -> dict[str, Any]:
        return {}

    def sample_independent(self, study, trial, param_name: str, param_distribution) -> float:
        index, param = self.params[param_name]
        unit = unit_point(self.search, self.seed, self.optimizer, trial.number, len(self.params))
        return from_unit(param, float(unit[index]))


def storage_for(where: str | Path) -> optuna.storages.BaseStorage | str:
    """A database URL as it is (Optuna opens it), else a journal file at that path."""
    text = str(where)
    if "://" in text:
        return text
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    Path(text).parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(text))


def check_storage(where: str) -> None:
    """A --storage URL Optuna can open, checked before anything is written (one line if not)."""
    if "://" not in where:
        return
    try:
        optuna.storages.RDBStorage(where)
    except Exception as error:  # the URL's form, the driver, the server: each raises its own kind
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise OptlabError(f"--storage {where.split('@')[-1]}: cannot open it ({first}); give a database URL Optuna "
                          "takes (postgresql://user:password@host/db, with pip install -e '.[postgres]'), or leave it "
                          "out for the sweep folder's journal file") from None


class OptimizerStudy:
    """One optimizer's search: trials proposed, handed out again while unfinished, and told their scores."""

    def __init__(self, storage: optuna.storages.BaseStorage | str, sweep: str, optimizer: str,
                 space: Sequence[Param], defaults: dict[str, Any], search: str, seed: int) -> None:
        if search not in SEARCHES[1:]:
            raise OptlabError(f"--search must be one of {', '.join(SEARCHES)}, got {search!r}")
        self.storage, self.optimizer, self.space, self.defaults = storage, optimizer, tuple(space), defaults
        self.search, self.seed = search, seed
        self.name = f"{sweep}/{optimizer}"
        self._open(storage)

    def _open(self, storage: optuna.storages.BaseStorage | str, attempts: int = 5) -> None:
        """Create the study, or load it where another process made it. Two workers starting at once may both try
        to create it; in a database the loser's insert fails (a unique name) before it can load what the winner
        made, so it tries again."""
        for attempt in range(attempts):
            try:
                optuna.create_study(storage=storage, study_name=self.name, direction="maximize", load_if_exists=True)
                return
            except Exception as error:  # Optuna raises its own and the database driver's kinds
                try:
                    optuna.load_study(study_name=self.name, storage=storage)
                    return
                except Exception:
                    if attempt == attempts - 1:
                        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                        raise OptlabError(f"cannot open the search's storage ({first}); check --storage") from None
                    time.sleep(0.2 * (attempt + 1))

    def _study(self, upcoming: int) -> optuna.Study:
        if self.search == "tpe":
            seed = zlib.crc32(repr((self.seed, self.optimizer, upcoming)).encode())
            sampler: optuna.samplers.BaseSampler = optuna.samplers.TPESampler(seed=seed)
        else:
            sampler = FixedDesignSampler(self.search, self.seed, self.optimizer, self.space)
        return optuna.load_study(study_name=self.name, storage=self.storage, sampler=sampler)

    def frozen(self) -> list[FrozenTrial]:
        return self._study(0).get_trials(deepcopy=False)

    def _trial(self, frozen: FrozenTrial) -> Trial | None:
        """The trial a stored one is. A trial another process is asking right now is stored before its values
        (Optuna sets them one by one): a fixed design's missing values are the ones it is setting (a function of
        the trial number); a TPE trial is not yet one (None) until its asker has sampled it."""
        params = dict(frozen.params)
        if any(param.name not in params for param in self.space):
            if self.search == "tpe":
                return None
            unit = unit_point(self.search, self.seed, self.optimizer, frozen.number, len(self.space))
            for index, param in enumerate(self.space):
                params.setdefault(param.name, from_unit(param, float(unit[index])))
        return self._trial_from(frozen.number, params)

    def _trial_from(self, number: int, params: dict[str, float]) -> Trial:
        point = {param.name: params[param.name] for param in self.space}
        lr, arguments = optimizer_arguments(point, self.space, self.defaults)
        return Trial(self.optimizer, number, point, lr, arguments)

    def pending(self) -> list[Trial]:
        """Trials asked and not yet told: killed or still running somewhere; their runs resume."""
        trials = [self._trial(t) for t in self.frozen() if t.state == TrialState.RUNNING]
        return [trial for trial in trials if trial is not None]

    def ask(self, budget: int) -> Trial | None:
        """A new trial, or None once the budget is spent (told or still pending). Two processes asking at once
        may both see room for one more; the one whose trial number is past the budget prunes it, so the budget
        holds exactly."""
        started = len(self.frozen())
        if started >= budget:
            return None
        study = self._study(started)
        asked = study.ask(distributions(self.space))
        if asked.number >= budget:  # another process asked in between: the storage numbers trials atomically
            study.tell(asked.number, state=TrialState.PRUNED)  # over the budget, never trained or counted
            return None
        return self._trial_from(asked.number, asked.params)

    def tell(self, number: int, score: float | None) -> None:
        """A trial's score (higher is better); None: it produced none (diverged before validating, failed)."""
        study = self._study(0)
        try:
            if score is None or not math.isfinite(score):
                study.tell(number, state=TrialState.FAIL, skip_if_finished=True)
            else:
                study.tell(number, score, skip_if_finished=True)
        except optuna.exceptions.UpdateFinishedTrialError:  # another process told it between the check and now
            pass

    def told(self) -> list[tuple[Trial, float | None]]:
        """Finished trials with their scores (None for failed ones), in trial order."""
        done = (TrialState.COMPLETE, TrialState.FAIL)
        finished = [(self._trial(t), t.value if t.state == TrialState.COMPLETE else None)
                    for t in self.frozen() if t.state in done]
        return [(trial, score) for trial, score in finished if trial is not None]
