"""What a report could have found: the smallest difference its seeds and its correction detect with 80% power.

A report corrects all its comparisons together, so each is judged at about level/m (Holm's first step, and
Benjamini–Hochberg's when one difference is real among m): with few seeds and many optimizers that is a very
high bar, and "not a clear difference" then says little. Power is computed from the noncentral t distribution of
the two-sided paired t-test (scipy.stats.nct).
"""

import math
from dataclasses import dataclass

from scipy import optimize
from scipy import stats as scipy_stats

from optlab.records.run_result import ADAPTIVE, FAMILY_BY_NAME, SGD
from optlab.report.stats import LEVEL, MIN_SEEDS

POWER = 0.8
ASSUMED_RUN_SD = 0.01  # seed-to-seed spread of one run's test accuracy on CIFAR-10 before any run is made: 1 point
PLAUSIBLE_DIFFERENCE = 0.02  # a difference between two tuned optimizers worth finding: 2 points
MAX_SEEDS = 200


def power_at(difference: float, sd: float, seeds: int, tests: int, level: float = LEVEL) -> float:
    """Chance that a two-sided paired t-test at level/tests finds a true mean paired difference."""
    df = seeds - 1
    critical = scipy_stats.t.ppf(1 - level / tests / 2, df)
    shift = difference * math.sqrt(seeds) / sd
    wrong_side = scipy_stats.nct.cdf(-critical, df, shift)  # below level/tests/2; scipy gives NaN far out
    return float(scipy_stats.nct.sf(critical, df, shift) + (0.0 if math.isnan(wrong_side) else wrong_side))


def detectable_difference(sd: float | None, seeds: int, tests: int, level: float = LEVEL,
                          power: float = POWER) -> float | None:
    """The smallest true mean paired difference found with `power` (None without seeds or spread to tell)."""
    if sd is None or not sd > 0 or seeds < 2 or tests < 1:
        return None
    high = sd
    while power_at(high, sd, seeds, tests, level) < power:
        high *= 2
    return float(optimize.brentq(lambda d: power_at(d, sd, seeds, tests, level) - power, 0.0, high, xtol=1e-9 * sd))


def seeds_needed(sd: float, difference: float, tests: int, level: float = LEVEL, power: float = POWER) -> int | None:
    """The fewest seeds at which `difference` is found with `power` (None beyond MAX_SEEDS)."""
    for seeds in range(MIN_SEEDS, MAX_SEEDS + 1):
        if power_at(difference, sd, seeds, tests, level) >= power:
            return seeds
    return None


@dataclass(frozen=True)
class ReportPower:
    """The report's own power: from the pooled sd of its paired test-accuracy differences."""

    sd: float | None
    seeds: int
    tests: int
    difference: float | None

    def text(self) -> str:
        if self.difference is None:
            return ("Power: not told (fewer than 2 paired seeds, or no spread between seeds to estimate it from).")
        one_point = seeds_needed(self.sd, 0.01, self.tests)
        more = (f"; finding a 1-point difference with 80% power would take {one_point} seeds at this spread"
                if one_point is not None else f"; a 1-point difference would need more than {MAX_SEEDS} seeds")
        more = "" if self.difference <= 0.01 else more
        return (f"Power: with {self.seeds} paired seeds, a seed spread of {100 * self.sd:.2f} pts in the paired "
                f"test-accuracy differences (pooled over the table's pairs) and {self.tests} comparisons corrected "
                f"together, a true difference of {100 * self.difference:.1f} pts would be found with 80% power; "
                f"smaller real differences will mostly read \"not a clear difference\"{more}.")


def report_power(sds: list[float], seeds: int, tests: int, level: float = LEVEL) -> ReportPower:
    """Power from the sds of the table's paired differences (pooled: root mean variance) at its seeds."""
    sd = math.sqrt(sum(s * s for s in sds) / len(sds)) if sds else None
    return ReportPower(sd, seeds, tests, detectable_difference(sd, seeds, tests, level))


def planned_comparisons(optimizers: list[str], families: dict[str, str | None] | None = None) -> int:
    """How many comparisons a report of these optimizers corrects together, told before any run: every pair of the
    table, the claims' comparisons (a, b: each fast optimizer against sgd; c: one; d2: each adaptive one against
    sgd; e shares a pair of the table) and the Findings' fastest against the next. families: each optimizer's
    family as the registry declares it (default: the names the report knows without results)."""
    names = list(dict.fromkeys(optimizers))
    families = [(families or {}).get(name, FAMILY_BY_NAME.get(name)) for name in names]
    adaptive, sgd_family = families.count(ADAPTIVE), families.count(SGD)
    claims = 0
    if "sgd" in names:
        claims += sum(name in names for name in ("adam", "rmsprop", "momentum", "nesterov")) + adaptive
    claims += 1 if adaptive and sgd_family else 0
    return len(names) * (len(names) - 1) // 2 + claims + (1 if len(names) > 1 else 0)


def seed_warning(optimizers: int, seeds: int, tests: int, run_sd: float = ASSUMED_RUN_SD,
                 plausible: float = PLAUSIBLE_DIFFERENCE) -> str | None:
    """One warning line before training when the sweep cannot find a plausible difference (None when it can)."""
    if optimizers < 2 or seeds < MIN_SEEDS:
        return None
    sd = math.sqrt(2) * run_sd  # the difference of two runs, each with its own noise
    found = detectable_difference(sd, seeds, tests)
    if found is None or found <= plausible:
        return None
    chance = power_at(plausible, sd, seeds, tests)
    needed = seeds_needed(sd, plausible, tests)
    advice = f"--seeds with {needed} seeds would" if needed else f"not even {MAX_SEEDS} seeds would"
    return (f"warning: {optimizers} optimizers at {seeds} seeds: the report corrects about {tests} comparisons "
            f"together, so at a seed spread of {100 * run_sd:g} pt per run a {100 * plausible:g}-point difference is "
            f"found with {100 * chance:.0f}% power (80% needs {100 * found:.1f} points); {advice} find it with 80% "
            "power")
