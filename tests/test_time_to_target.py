"""Time to target: the crossing interpolated between checks, censored seeds, and what the claims decide.

The simulations fabricate validation curves (no training): a run's val accuracy follows c·(1 − exp(−t/τ)) over
epochs t, with τ set so that the curve crosses the target at a chosen epoch, plus the sampling noise of a
5,000-image validation set (sd 0.7 points) at every check. Seeds jitter each run's crossing by 0.1 epoch. The
runs are judged by the report's own claims code.
"""

import math

import numpy as np
import pytest

from optlab.records import RunResult
from optlab.records.derived import crossing, first_reached, summarize
from optlab.report.claims import CONTRADICTED, SUPPORTED
from optlab.report.formatting import paired_text
from optlab.report.selection import choose_lrs
from optlab.report.stats import LEVEL
from optlab.report.sweep_record import SweepRecord
from optlab.report.target import (
    TimesSaved,
    sign_flip_p,
    steps_per_epoch,
    times_saved,
)
from optlab.report.verdicts import judge_claims
from optlab.sweep.schema import VAL_EVERY_FOR_TARGET
from tests.helpers import run_result

STEPS_PER_EPOCH, EPOCHS, TARGET = 100, 10, 0.6
VAL_NOISE, SEED_JITTER = 0.007, 0.1  # points of val accuracy at a check; epochs of a run's crossing
CEILING = 0.8
SWEEPS = 300
OPTIMIZERS = ("sgd", "adam", "rmsprop")


def _check(epoch: float, acc: float | None) -> dict:
    return {"epoch": epoch, "step": round(epoch * STEPS_PER_EPOCH), "train_seconds": 10.0 * epoch, "val_acc": acc}


def test_crossing_interpolates_between_the_two_checks_around_the_target():
    checks = [_check(0.5, 0.30), _check(1.0, 0.40), _check(1.5, None), _check(2.0, 0.80), _check(2.5, 0.9)]
    # 0.6 lies halfway between 0.40 (epoch 1, step 100, 10 s) and 0.80 (epoch 2, step 200, 20 s)
    assert crossing(checks, 0.6) == pytest.approx({"epoch": 1.5, "step": 150.0, "seconds": 15.0})
    assert crossing(checks, 0.5) == pytest.approx({"epoch": 1.25, "step": 125.0, "seconds": 12.5})
    assert first_reached(checks, 0.6)["step"] == 200  # the recorded first check stays what it was
    assert crossing(checks, 0.2) == {"epoch": 0.5, "step": 50.0, "seconds": 5.0}  # nothing before to interpolate
    assert crossing(checks, 0.95) is None


def test_summarize_records_the_interpolated_crossing_beside_the_first_check():
    epochs = [{"epoch": e, "step": e * 10, "train_seconds": float(e), "train_loss": 1.0, "val_acc": acc}
              for e, acc in ((1, 0.2), (2, 0.5), (3, 0.7))]
    checks = [{"epoch": e / 2, "step": e * 5, "train_seconds": e / 2, "val_acc": acc}
              for e, acc in enumerate((0.1, 0.2, 0.3, 0.5, 0.6, 0.7), start=1)]
    summary = summarize(epochs, [1.0] * 30, 0.55, checks)
    assert summary["time_to_target"] == {"epoch": 2.5, "step": 25, "seconds": 2.5}
    assert summary["time_to_target_interpolated"] == pytest.approx({"epoch": 2.25, "step": 22.5, "seconds": 2.25})
    assert summarize(epochs, [1.0] * 30, 0.55)["time_to_target_interpolated"] == pytest.approx(
        {"epoch": 2.25, "step": 22.5, "seconds": 2.25})  # per-epoch checks only: between epochs 2 and 3


def curve_runs(rng: np.random.Generator, optimizer: str, crossings: np.ndarray, val_every: float,
               ceiling: float = CEILING) -> list[RunResult]:
    """One run per seed whose curve crosses the target at `crossings[seed]` epochs (never if ceiling < target)."""
    times = np.arange(1, round(EPOCHS / val_every) + 1) * val_every
    runs = []
    for seed, at in enumerate(crossings):
        tau = at / math.log(ceiling / (ceiling - TARGET)) if ceiling > TARGET else at
        acc = ceiling * (1 - np.exp(-times / tau)) + rng.normal(0, VAL_NOISE, times.size)
        checks = [_check(float(t), float(a)) for t, a in zip(times, acc)]
        epochs = [{**check, "epoch": int(check["epoch"])} for check in checks if float(check["epoch"]).is_integer()]
        runs.append(run_result({
            "run_id": f"{optimizer}_lr0.01_seed{seed}", "optimizer": optimizer, "lr": 0.01, "seed": seed,
            "diverged": False, "batch_size": 32, "effective_batch_size": 32, "world_size": 1,
            "val_every": val_every, "steps": EPOCHS * STEPS_PER_EPOCH, "train_seconds": 10.0 * EPOCHS,
            "epochs": epochs, "val_checks": checks, "final_val_acc": float(acc[-1]), "test_acc": 0.7,
            "time_to_target": first_reached(checks, TARGET),
            "time_to_target_interpolated": crossing(checks, TARGET),
        }))
    return runs


def record_of(runs: list[RunResult]) -> SweepRecord:
    return SweepRecord(sweep_dir=None, protocol={"max_epochs": EPOCHS, "target_acc": TARGET},
                       config={"optimizers": list(OPTIMIZERS)}, runs=runs)


def tuned(runs: list[RunResult]) -> list[RunResult]:
    """The runs as confirmation runs of a tuned lr: each optimizer also gets a 3-lr tuning grid on a seed of its
    own in which the runs' lr wins validation, so the verdict is a tuned one judged on these seeds."""
    tuning = []
    for optimizer in dict.fromkeys(run.optimizer for run in runs):
        template = next(run.to_json() for run in runs if run.optimizer == optimizer)
        for factor, val in ((0.1, 0.1), (1.0, 0.9), (10.0, 0.1)):
            lr = template["lr"] * factor
            tuning.append(run_result({**template, "run_id": f"{optimizer}_lr{lr:g}_seed99", "lr": lr, "seed": 99,
                                      "stage": "grid", "final_val_acc": val}))
    return [*tuning, *(run_result({**run.to_json(), "stage": "confirm"}) for run in runs)]


def claim_a(runs: list[RunResult]) -> str:
    """Claim (a), Adam and RMSprop converge faster than SGD, judged by the report's code on tuned lrs."""
    runs = tuned(runs)
    claims = judge_claims(record_of(runs), choose_lrs(runs, list(OPTIMIZERS)))
    return next(claim for claim in claims if claim.key == "a").verdict


def lead_sweep(rng: np.random.Generator, seeds: int, val_every: float, lead: float) -> list[RunResult]:
    """sgd crosses at epoch 4; adam and rmsprop `lead` epochs earlier, in every seed up to the jitter."""
    runs = []
    for optimizer in OPTIMIZERS:
        at = 4.0 - (lead if optimizer != "sgd" else 0.0) + rng.normal(0, SEED_JITTER, seeds)
        runs += curve_runs(rng, optimizer, at, val_every)
    return runs


def decided_share(val_every: float, lead: float, seeds: int = 3) -> dict[str, float]:
    rng = np.random.default_rng(20_261_204 + int(100 * val_every))
    verdicts = [claim_a(lead_sweep(rng, seeds, val_every, lead)) for _ in range(SWEEPS)]
    return {verdict: verdicts.count(verdict) / SWEEPS for verdict in (SUPPORTED, CONTRADICTED)}


def test_a_one_epoch_lead_at_three_seeds_is_decided_at_the_default_validation_cadence():
    from optlab.cli import build_parser
    from optlab.sweep.config import SweepConfig

    default = SweepConfig().val_every
    assert default == build_parser().parse_args([]).val_every == VAL_EVERY_FOR_TARGET
    rates = decided_share(val_every=default, lead=1.0)
    # 80% with three standard errors of simulation margin would still hold at a true rate of 0.85
    assert rates[SUPPORTED] >= 0.8 and rates[CONTRADICTED] == 0, rates


def test_sgd_a_one_epoch_lead_ahead_contradicts_the_claim_as_often():
    rates = decided_share(val_every=0.25, lead=-1.0)
    assert rates[CONTRADICTED] >= 0.8 and rates[SUPPORTED] == 0, rates


def test_with_one_check_an_epoch_the_same_lead_is_not_decided_reliably():
    # Why the cadence matters: the unseen curve between checks floors the sd at interval/√6, which at one check
    # an epoch keeps t below the 5% point at 3 seeds unless the seeds themselves spread by more than that.
    rates = decided_share(val_every=1.0, lead=1.0)
    assert rates[SUPPORTED] < 0.8, rates


def _null(rng: np.random.Generator, seeds: int, val_every: float, ceilings: tuple[float, float],
          at: float = 4.0, jitter: float = SEED_JITTER) -> TimesSaved:
    runs = [curve_runs(rng, name, at + rng.normal(0, jitter, seeds), val_every, ceiling)
            for name, ceiling in zip(("sgd", "adam"), ceilings)]
    return times_saved(runs[0], runs[1], EPOCHS, steps_per_epoch([*runs[0], *runs[1]]), TARGET)


@pytest.mark.parametrize("val_every", [0.25, 1.0])
def test_equal_crossings_of_differently_shaped_curves_decide_no_more_often_than_the_level(val_every):
    # Same true crossing, but one curve flattens just above the target (where interpolation errs most).
    rng = np.random.default_rng(7)
    compared = [_null(rng, 3, val_every, (CEILING, 0.62)) for _ in range(SWEEPS)]
    assert not any(saved.censored for saved in compared)
    p_values = [saved.p_value for saved in compared]
    decided = sum(p is not None and p < LEVEL for p in p_values) / SWEEPS
    assert decided <= LEVEL + 3 * math.sqrt(LEVEL * (1 - LEVEL) / SWEEPS), decided


def test_a_censored_comparison_gets_no_t_interval_and_the_exact_sign_flip_p():
    rng = np.random.default_rng(3)
    slow = curve_runs(rng, "sgd", np.full(3, 4.0), 0.25, ceiling=0.5)  # never reaches 0.6
    fast = curve_runs(rng, "adam", np.full(3, 2.0), 0.25)
    saved = times_saved(slow, fast, EPOCHS, steps_per_epoch([*slow, *fast]), TARGET)
    assert saved.censored == 3 and (saved.reached_fast, saved.reached_slow) == (3, 0)
    assert saved.interval is None and saved.effect_size is None
    assert saved.p_value == pytest.approx(0.25)  # 3 seeds all one way: 2 of the 8 sign patterns are as extreme
    assert "CI" not in paired_text(saved, " steps", digits=0)
    assert "reached the target in 3/3 vs 0/3 seeds" in saved.reached_text
    runs = tuned([*slow, *fast, *curve_runs(rng, "rmsprop", np.full(3, 2.0), 0.25)])
    claims = judge_claims(record_of(runs), choose_lrs(runs, list(OPTIMIZERS)))
    texts = [finding.text for finding in next(c for c in claims if c.key == "a").findings]
    assert texts and all("CI" not in text and "sign-flip" in text for text in texts), texts
    assert all(text.index("reached the target") < text.index("steps to target saved") for text in texts)


def test_the_sign_flip_p_is_the_share_of_sign_patterns_at_least_as_extreme():
    differences = (5.0, -1.0, 3.0, 2.0)
    patterns = np.array(np.meshgrid(*[[-1, 1]] * 4)).reshape(4, -1).T
    means = (patterns * np.array(differences)).mean(axis=1)
    observed = np.mean(differences)
    one_sided = min(np.mean(means >= observed - 1e-12), np.mean(means <= observed + 1e-12))
    assert sign_flip_p(differences) == pytest.approx(min(1.0, 2 * one_sided))


def test_a_censored_lead_is_decided_with_enough_seeds_and_not_under_no_difference():
    rng = np.random.default_rng(11)
    slow = curve_runs(rng, "sgd", np.full(8, 4.0), 0.25, ceiling=0.5)
    fast = curve_runs(rng, "adam", np.full(8, 3.0), 0.25)
    rmsprop = curve_runs(rng, "rmsprop", np.full(8, 3.0), 0.25)
    assert claim_a([*slow, *fast, *rmsprop]) == SUPPORTED  # 2/2⁸ < 5% even after Holm over the two
    # Under no difference, crossings spread around the end of the budget so that about half the seeds miss it:
    compared = [_null(rng, 8, 0.25, (CEILING, CEILING), at=EPOCHS, jitter=1.5) for _ in range(SWEEPS)]
    assert sum(saved.censored > 0 for saved in compared) >= 0.9 * SWEEPS  # the censored test is what ran
    p_values = [saved.p_value for saved in compared]
    decided = sum(p is not None and p < LEVEL for p in p_values) / SWEEPS
    assert decided <= LEVEL + 3 * math.sqrt(LEVEL * (1 - LEVEL) / SWEEPS), decided


def test_the_method_text_says_interpolated_and_the_shortest_lead_the_checks_allow():
    from scipy import stats

    from optlab.report.document import method_lines

    rng = np.random.default_rng(1)
    runs = lead_sweep(rng, 3, 0.25, 1.0)
    text = next(line for line in method_lines(record_of(runs)) if "**time to target**" in line)
    interval = 0.25 * STEPS_PER_EPOCH
    finest = stats.t.ppf(0.975, 2) * interval / math.sqrt(6) / math.sqrt(3)
    assert "interpolated" in text and "sign-flip" in text and "censored" in text
    assert f"checks every {interval:g} steps and 3 judged seeds, no lead under {finest:.0f} steps" in text
