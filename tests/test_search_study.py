"""The search's studies: proposals that depend on (seed, optimizer, trial number) alone, and survive kills."""

import os

import numpy as np
import pytest

from optlab.errors import OptlabError
from optlab.search.spaces import constructor_defaults, space_for
from optlab.search.study import OptimizerStudy, storage_for

SPACE = space_for("adam")
DEFAULTS = constructor_defaults("adam")


def study(where, search="qmc", seed=0, sweep="sweep", optimizer="adam") -> OptimizerStudy:
    return OptimizerStudy(storage_for(where), sweep, optimizer, SPACE, DEFAULTS, search, seed)


def score(trial) -> float:
    """A smooth objective with its best at lr 1e-3, beta2 0.99."""
    return -abs(np.log10(trial.lr / 1e-3)) - abs(np.log10(trial.point["one_minus_beta2"] / 0.01))


def run(search_study: OptimizerStudy, budget: int, stop_after: int | None = None) -> list:
    points = []
    while (trial := search_study.ask(budget)) is not None:
        search_study.tell(trial.number, score(trial))
        points.append(trial.point)
        if stop_after is not None and len(points) == stop_after:
            break
    return points


@pytest.mark.parametrize("search", ["random", "qmc"])
def test_a_seeded_design_proposes_the_same_points_anywhere(tmp_path, search):
    first = run(study(tmp_path / "a.journal", search), 6)
    again = run(study(tmp_path / "b.journal", search), 6)
    other_seed = run(study(tmp_path / "c.journal", search, seed=1), 6)
    assert len(first) == 6 and first == again
    assert first != other_seed
    assert len({tuple(point.values()) for point in first}) == 6


def test_qmc_spreads_the_first_points_over_every_stratum(tmp_path):
    points = run(study(tmp_path / "s.journal", "qmc"), 8)
    for param in SPACE:
        logs = np.log([point[param.name] for point in points])
        bins = np.floor((logs - np.log(param.low)) / (np.log(param.high) - np.log(param.low)) * 8)
        assert sorted(bins) == list(range(8)), param.name  # one point in each eighth of each range


def test_a_killed_trial_is_handed_out_again_with_its_point(tmp_path):
    where = tmp_path / "k.journal"
    first = study(where)
    asked = [first.ask(3) for _ in range(3)]
    first.tell(asked[0].number, score(asked[0]))
    first.tell(asked[1].number, None)  # failed: no score
    # A new process on the same storage: the third trial was never told.
    again = study(where)
    assert [trial.point for trial in again.pending()] == [asked[2].point]
    assert again.ask(3) is None  # the budget counts it: no fourth trial
    told = again.told()
    assert [trial.number for trial, _ in told] == [0, 1] and told[1][1] is None


def test_two_workers_on_one_storage_get_distinct_trials(tmp_path):
    where = tmp_path / "two.journal"
    one, two = study(where), study(where)
    trials = [one.ask(4), two.ask(4), one.ask(4), two.ask(4)]
    assert sorted(trial.number for trial in trials) == [0, 1, 2, 3]
    alone = run(study(tmp_path / "alone.journal"), 4)
    assert [trial.point for trial in sorted(trials, key=lambda t: t.number)] == alone


def test_tpe_continues_after_a_kill_as_an_uninterrupted_search_would(tmp_path):
    budget = 14  # past TPE's 10 random start-up trials, so the model proposes the last ones
    whole = run(study(tmp_path / "whole.journal", "tpe"), budget)
    where = tmp_path / "cut.journal"
    cut = run(study(where, "tpe"), budget, stop_after=11)
    cut += run(study(where, "tpe"), budget)
    assert len(whole) == budget and cut == whole


def test_optimizers_and_sweeps_have_studies_of_their_own(tmp_path):
    where = tmp_path / "many.journal"
    run(study(where, optimizer="adam"), 2)
    other = OptimizerStudy(storage_for(where), "sweep", "sgd", space_for("sgd"), constructor_defaults("sgd"),
                           "qmc", 0)
    assert other.ask(2).number == 0
    assert study(where, sweep="another").ask(2).number == 0


def test_a_trial_is_an_ordinary_runs_lr_and_arguments(tmp_path):
    trial = study(tmp_path / "r.journal").ask(1)
    assert trial.lr == trial.point["lr"]
    assert trial.arguments["betas"] == pytest.approx((1 - trial.point["one_minus_beta1"],
                                                      1 - trial.point["one_minus_beta2"]))


def test_a_database_url_is_used_as_optunas_storage(tmp_path):
    url = f"sqlite:///{tmp_path / 'search.db'}"
    assert run(study(url), 3) == run(study(tmp_path / "same.journal"), 3)


def test_an_unknown_search_is_one_line(tmp_path):
    with pytest.raises(OptlabError, match="--search must be one of"):
        study(tmp_path / "x.journal", "bayes")


@pytest.mark.skipif(not os.environ.get("OPTLAB_TEST_POSTGRES"), reason="needs OPTLAB_TEST_POSTGRES (a database URL)")
def test_a_postgresql_study_is_shared_by_two_workers():
    import uuid

    url, sweep = os.environ["OPTLAB_TEST_POSTGRES"], f"sweep-{uuid.uuid4().hex[:8]}"
    one = OptimizerStudy(url, sweep, "adam", SPACE, DEFAULTS, "qmc", 0)
    two = OptimizerStudy(url, sweep, "adam", SPACE, DEFAULTS, "qmc", 0)
    trials = [one.ask(4), two.ask(4), one.ask(4), two.ask(4)]
    assert sorted(trial.number for trial in trials) == [0, 1, 2, 3]
    assert two.ask(4) is None


def test_two_workers_asking_at_once_never_exceed_the_budget(tmp_path):
    """Both may see room for one more trial; the storage numbers trials atomically, and the one past the budget
    is pruned, never handed out."""
    from optuna.trial import TrialState

    where = tmp_path / "race.journal"
    one, two = study(where), study(where)
    assert one.ask(3) is not None and one.ask(3) is not None
    stale = one.frozen()  # what the second worker saw just before the first one asked the last trial
    assert one.ask(3).number == 2
    two.frozen = lambda: stale
    assert two.ask(3) is None
    states = [trial.state for trial in one.frozen()]
    assert states.count(TrialState.RUNNING) == 3 and states.count(TrialState.PRUNED) == 1
    assert len(one.pending()) == 3 and one.ask(3) is None


def _asked_halfway(where, search: str):
    """A trial another process is asking this moment: stored, its first value set, the others not yet."""
    import optuna

    from optlab.search.study import distributions

    raw = study(where, search)._study(0)
    trial = raw.ask()
    first = SPACE[0]
    shape = distributions(SPACE)[first.name]
    trial.suggest_float(first.name, shape.low, shape.high, log=shape.log)
    assert set(optuna.load_study(study_name="sweep/adam", storage=storage_for(where)).trials[0].params) == {first.name}


@pytest.mark.parametrize("search", ["random", "qmc"])
def test_a_trial_caught_while_being_asked_is_the_point_its_asker_will_store(tmp_path, search):
    where = tmp_path / "half.journal"
    _asked_halfway(where, search)
    (pending,) = study(where, search).pending()
    whole = run(study(tmp_path / "whole.journal", search), 1)[0]  # trial 0 asked in one go
    assert pending.number == 0 and pending.point == pytest.approx(whole)


def test_a_tpe_trial_caught_while_being_asked_is_not_handed_out_yet(tmp_path):
    where = tmp_path / "half.journal"
    _asked_halfway(where, "tpe")
    assert study(where, "tpe").pending() == []
