"""One error rate per report, intervals that agree with their verdicts, Findings that quote the table, power
stated and grid edges marked: each checked on fabricated sweeps (no training) judged by the report's own code.

Every run has its own noise of 1 point in test and val accuracy, independent of every other run's. Rates are
estimated from a few hundred sweeps; each bound allows three standard errors of the estimated rate.
"""

import math
import re

import numpy as np
import pytest

from optlab.records import RunResult
from optlab.report.claims import CONTRADICTED, NOT_TUNED, SUPPORTED
from optlab.report.document import method_lines, pairwise_lines
from optlab.report.power import detectable_difference, planned_comparisons, power_at, seed_warning, seeds_needed
from optlab.report.selection import choose_lrs
from optlab.report.stats import FDR, FWER, LEVEL, benjamini_hochberg, correct, holm
from optlab.report.sweep_record import SweepRecord
from optlab.report.verdicts import report_verdicts
from tests.helpers import run_result

NAMES = ("sgd", "momentum", "nesterov", "adam", "rmsprop", "adamw", "nadam", "radam", "adamax", "adagrad",
         "adadelta", "lion", "lamb", "muon", "soap", "prodigy", "adafactor", "schedulefree_adamw", "schedulefree_sgd")
LRS = (0.001, 0.01, 0.1)  # the middle one wins validation by 10 points: every chosen lr is inside its grid
STEPS_PER_EPOCH = 100
CONFIRM_SEED = 100  # confirmation seeds start here, apart from the tuning seeds
NOISE = 0.01


def three_se(rate: float, sweeps: int) -> float:
    return 3 * math.sqrt(rate * (1 - rate) / sweeps)


def sweep_runs(rng: np.random.Generator, optimizers: int, seeds: int, test_lead: dict[str, float] | None = None,
               lrs: tuple[float, ...] = LRS) -> list[RunResult]:
    """One sweep with confirmation runs: every optimizer × lr at tuning seeds 0..seeds-1, and the lr validation
    chooses (the middle one) again at `seeds` fresh seeds, on which every verdict rests. Each run has its own
    noise; `test_lead` adds to an optimizer's test acc at its best lr."""
    names, lead = NAMES[:optimizers], test_lead or {}
    best_lr = lrs[len(lrs) // 2]
    cells = [(name, lr, seed, "grid") for name in names for lr in lrs for seed in range(seeds)]
    cells += [(name, best_lr, CONFIRM_SEED + seed, "confirm") for name in names for seed in range(seeds)]
    val, test = rng.normal(0, NOISE, len(cells)), rng.normal(0, NOISE, len(cells))
    step, speed = rng.normal(150, 10, len(cells)), rng.normal(1000, 10, len(cells))
    runs = []
    for index, (name, lr, seed, stage) in enumerate(cells):
        best = lr == best_lr
        reach = max(1, round(step[index]))
        runs.append(run_result({
            "run_id": f"{name}_lr{lr:g}_seed{seed}", "optimizer": name, "lr": lr, "seed": seed, "stage": stage,
            "diverged": False, "batch_size": 32, "effective_batch_size": 32, "world_size": 1,
            "accelerator": "cpu", "precision": "32-true", "val_every": 0.01, "steps": 3 * STEPS_PER_EPOCH,
            "train_seconds": 30.0, "epochs": [{"epoch": e, "step": e * STEPS_PER_EPOCH} for e in (1, 2, 3)],
            "final_val_acc": (0.70 if best else 0.60) + val[index],
            "test_acc": 0.70 + (lead.get(name, 0.0) if best else 0.0) + test[index],
            "generalization_gap": 0.0,
            "time_to_target": {"epoch": reach / STEPS_PER_EPOCH, "step": reach, "seconds": reach / 10},
            "images_per_second": speed[index], "optimizer_state_bytes": 0 if name == "sgd" else 100,
        }))
    return runs


def verdicts_of(runs: list[RunResult], control: str = FWER):
    record = record_of(runs)
    return report_verdicts(record, choose_lrs(runs, record.optimizers), control)


def decided_anything(verdicts) -> bool:
    """A clear pair, or a claim decided by a test (d1 compares exact byte counts: no test, not counted)."""
    claims = [claim for claim in verdicts.claims if claim.key != "d1"]
    return any(row.clear for row in verdicts.rows) or any(
        claim.verdict in (SUPPORTED, CONTRADICTED, NOT_TUNED) for claim in claims) or verdicts.decided


def interval_of(text: str) -> tuple[float, float]:
    low, high = re.search(r"CI ([-+]\d+(?:\.\d+)?), ([-+]\d+(?:\.\d+)?)\]", text).groups()
    return float(low), float(high)


def table_rows(lines: list[str]) -> list[dict[str, str]]:
    rows = [line for line in lines if line.startswith("|")]
    cells = [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows]
    return [dict(zip(cells[0], row)) for row in cells[2:]]


@pytest.mark.parametrize("control", [FWER, FDR])
def test_an_adjusted_p_is_below_the_level_exactly_when_the_raw_p_is_below_the_matching_threshold(control):
    rng = np.random.default_rng(7)
    for _ in range(2000):
        m = int(rng.integers(1, 60))
        # a mix of nulls (uniform p) and real differences (p near 0), so R runs from 0 to m
        p = np.where(rng.random(m) < rng.random(), rng.random(m) ** 8, rng.random(m))
        correction = correct(list(p), control)
        for index, value in enumerate(p):
            assert correction.clear(index) == (value < correction.threshold), (control, list(p), index)


def test_holm_and_benjamini_hochberg_match_their_definitions():
    rng = np.random.default_rng(3)
    for _ in range(200):
        p = rng.random(int(rng.integers(1, 30))) ** 3
        order, m = np.argsort(p), len(p)
        step_down = np.maximum.accumulate(np.minimum(1, (m - np.arange(m)) * p[order]))
        step_up = np.minimum.accumulate((m * p[order] / np.arange(1, m + 1))[::-1])[::-1]
        assert np.allclose(np.array(holm(list(p)))[order], step_down)
        assert np.allclose(np.array(benjamini_hochberg(list(p)))[order], np.minimum(step_up, 1))


NULL_SWEEPS = 300


@pytest.mark.parametrize("optimizers, seeds, control", [(10, 3, FWER), (10, 5, FWER), (19, 3, FWER), (19, 5, FWER),
                                                        (19, 5, FDR)])
def test_under_no_difference_a_report_decides_anything_no_more_often_than_its_stated_level(optimizers, seeds,
                                                                                           control):
    rng = np.random.default_rng(1000 * optimizers + seeds)
    decided = sum(decided_anything(verdicts_of(sweep_runs(rng, optimizers, seeds), control))
                  for _ in range(NULL_SWEEPS))
    # under the complete null the false discovery rate is the chance of any discovery, so both are bounded alike
    assert decided / NULL_SWEEPS <= LEVEL + three_se(LEVEL, NULL_SWEEPS), decided


@pytest.mark.parametrize("control", [FWER, FDR])
def test_no_printed_row_shows_an_interval_that_disagrees_with_its_verdict(control):
    rng = np.random.default_rng(11)
    clear = unclear = 0
    for sweep in range(60):
        # two optimizers truly ahead (by 6 and 3 points), the rest equal: some rows clear, most not
        verdicts = verdicts_of(sweep_runs(rng, 8, 5, {"sgd": 0.06, "momentum": 0.03}), control)
        for row in table_rows(pairwise_lines(verdicts)):
            low, high = interval_of(row["corrected interval"])
            excludes_zero = low > 0 or high < 0
            assert excludes_zero == row["verdict"].endswith("ahead"), (sweep, row)
            assert "CI" not in row["Δ test acc, A − B (paired by seed)"]  # no unadjusted interval beside it
            clear += excludes_zero
            unclear += not excludes_zero
    assert clear > 50 and unclear > 50  # both kinds of row were met


def top_two_sentence(verdicts) -> str:
    return next(sentence for sentence in verdicts.findings if sentence.startswith("Highest test accuracy"))


def test_findings_quote_the_tables_verdict_on_the_top_two_picked_by_the_data():
    rng = np.random.default_rng(5)
    clear = 0
    for sweep in range(150):
        verdicts = verdicts_of(sweep_runs(rng, 10, 5, {"adam": 0.06}))  # a real 6-point lead: clear in some sweeps
        sentence = top_two_sentence(verdicts)
        assert "picked by the data" in sentence and "the verdict is the pairwise table's" in sentence
        best, second = re.findall(r"\*\*(\w+)\*\*", sentence)[:2]
        row = next(row for row in verdicts.rows if {row.a.optimizer, row.b.optimizer} == {best, second})
        said_clear = ": a clear difference" in sentence
        assert said_clear == row.clear, (sweep, sentence, row.verdict)
        assert f"Holm p {row.adjusted_p:.3g}" in sentence
        sign = 1 if row.a.optimizer == best else -1
        low, high = (sign * 100 * end for end in row.judged.interval)
        shown = interval_of(sentence)
        assert shown == pytest.approx(sorted((low, high)), abs=0.051)
        clear += said_clear
    assert 0 < clear < 150  # sweeps where the lead was found and where it was not


def test_the_fastest_against_the_next_pays_for_being_picked_from_every_pair():
    rng = np.random.default_rng(8)
    verdicts = verdicts_of(sweep_runs(rng, 10, 5))
    sentence = next(sentence for sentence in verdicts.findings if sentence.startswith("Steps saved"))
    assert "picked by the data" in sentence and "the 45 pairs it was picked from" in sentence
    member = next(v for key, v in verdicts.family.verdicts().items() if key[0] == "steps saved")
    assert member.picked_from == 45
    assert member.adjusted_p >= min(1.0, 45 * member.pairs.p_value) - 1e-12


@pytest.mark.parametrize("seeds, tests", [(3, 57), (5, 57), (5, 185), (10, 20)])
def test_the_stated_detectable_difference_is_found_in_80_percent_of_simulated_t_tests(seeds, tests):
    """Checks the noncentral-t power against paired t-tests drawn with numpy, at the report's per-test level."""
    sd, reps = 0.014, 20_000
    difference = detectable_difference(sd, seeds, tests)
    draws = np.random.default_rng(seeds * tests).normal(difference, sd, (reps, seeds))
    t = draws.mean(axis=1) / (draws.std(axis=1, ddof=1) / math.sqrt(seeds))
    found = np.mean(np.abs(t) > scipy_t_quantile(1 - LEVEL / tests / 2, seeds - 1))
    assert found == pytest.approx(0.8, abs=three_se(0.8, reps)), (difference, found)


def scipy_t_quantile(probability: float, df: int) -> float:
    from scipy import stats

    return float(stats.t.ppf(probability, df))


def test_a_lead_of_the_stated_size_is_found_in_most_sweeps_and_the_report_says_what_it_could_find():
    rng = np.random.default_rng(21)
    optimizers, seeds, sweeps = 10, 5, 120
    first = verdicts_of(sweep_runs(rng, optimizers, seeds))
    # the difference of two runs, each with its own noise of 1 point, at the report's own number of comparisons
    lead = detectable_difference(math.sqrt(2) * NOISE, seeds, first.correction.tested)
    found = stated = 0
    for _ in range(sweeps):
        verdicts = verdicts_of(sweep_runs(rng, optimizers, seeds, {"adam": lead}))
        rows = [row for row in verdicts.rows if "adam" in (row.a.optimizer, row.b.optimizer)]
        found += sum(row.clear for row in rows)
        stated += verdicts.power.difference
    # nine true differences: Holm's later steps can only help, so at least the stated 80% (within error)
    share = found / (sweeps * (optimizers - 1))
    assert share >= 0.8 - three_se(0.8, sweeps), share
    # the report's own estimate (from its pooled seed spread) is close to the one from the true spread
    assert stated / sweeps == pytest.approx(lead, rel=0.15)
    assert "would be found with 80% power" in pairwise_lines(first)[0]


def test_the_warning_before_training_names_the_seed_count_that_would_find_a_plausible_difference():
    tests = 45 + 8  # ten optimizers: their pairs and the claims' comparisons
    line = seed_warning(10, 3, tests)
    needed = int(re.search(r"--seeds with (\d+) seeds", line).group(1))
    sd = math.sqrt(2) * 0.01
    assert power_at(0.02, sd, needed, tests) >= 0.8 > power_at(0.02, sd, needed - 1, tests)
    assert needed == seeds_needed(sd, 0.02, tests)
    assert seed_warning(2, needed, 1) is None  # two optimizers at that many seeds can find it
    assert seed_warning(10, 2, tests) is None  # below 3 seeds the existing warning speaks


def edge_sweep(sgd_lrs: tuple[float, ...]) -> list[RunResult]:
    """sgd the only SGD-family optimizer, adam and rmsprop truly 10 points ahead of it in test accuracy: claim (e)
    is contradicted when every side is tuned."""
    runs = sweep_runs(np.random.default_rng(4), 5, 5, {"adam": 0.10, "rmsprop": 0.10})
    return [run for run in runs if run.optimizer not in ("momentum", "nesterov")
            and (run.optimizer != "sgd" or run.lr in sgd_lrs)]


def test_a_chosen_lr_at_its_grids_edge_marks_the_claim_not_tuned_instead_of_decided():
    tuned = {claim.key: claim for claim in verdicts_of(edge_sweep(LRS)).claims}
    assert tuned["e"].verdict == CONTRADICTED
    for sgd_lrs, reason in (((0.01,), "sgd ran one lr only (0.01)"),
                            ((0.001, 0.01), "sgd's lr 0.01 is the largest of its grid"),
                            ((0.01, 0.1), "sgd's lr 0.01 is the smallest of its grid")):
        verdicts = verdicts_of(edge_sweep(sgd_lrs))
        claim = {claim.key: claim for claim in verdicts.claims}["e"]
        assert claim.verdict == NOT_TUNED, sgd_lrs
        assert f"(not tuned: {reason})" in claim.findings[0].text
        assert verdicts.edges == {"sgd": reason}
        for row in verdicts.rows:  # every pairwise verdict that uses sgd says so, and only those
            assert ("lr at its grid's edge: sgd" in row.verdict) == ("sgd" in (row.a.optimizer, row.b.optimizer))


def test_the_error_control_chosen_is_the_one_every_caption_names():
    runs = sweep_runs(np.random.default_rng(2), 6, 5, {"sgd": 0.05})
    for control, named, other in ((FWER, "Holm", "Benjamini"), (FDR, "Benjamini–Hochberg", "Holm")):
        verdicts = verdicts_of(runs, control)
        lines = pairwise_lines(verdicts)
        assert named in lines[0] and other not in lines[0]
        header = next(line for line in lines if line.startswith("| A |"))
        assert f"| {named} p |" in header
        method = " ".join(method_lines(record_of(runs), verdicts))
        assert f"{named}'s" in method and f"`{control}`" in method
    with pytest.raises(ValueError, match="fwer, fdr"):
        verdicts_of(runs, "bonferroni")


def record_of(runs: list[RunResult]) -> SweepRecord:
    names = list(dict.fromkeys(run.optimizer for run in runs))
    return SweepRecord(sweep_dir=".", protocol={"max_epochs": 3, "target_acc": 0.5}, config={"optimizers": names},
                       runs=runs)


@pytest.mark.parametrize("optimizers", [2, 5, 10, 19])
def test_the_comparisons_counted_before_training_are_the_ones_the_report_corrects(optimizers):
    verdicts = verdicts_of(sweep_runs(np.random.default_rng(optimizers), optimizers, 3))
    assert planned_comparisons(list(NAMES[:optimizers])) == verdicts.correction.tested
