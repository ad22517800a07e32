"""What a claim about optimizers is, and how its verdict follows from paired comparisons (claim_judge.py judges the
seed text's claims on a sweep's own numbers).

Every comparison pairs runs by seed at each optimizer's chosen lr (see stats.Paired) and belongs to the report's
one family of verdicts (family.py: the pairwise table, the claims and Findings, corrected together), so under no
true difference the report decides anything, claim or pair, in at most 5% of sweeps. A comparison counts when it
survives that correction; its interval is printed at the level the correction matches. Fewer than 3 paired
seeds, a tie in every seed, or a sweep that lacks what the claim needs: inconclusive. A claim that would be decided
while an optimizer it compares sits at the edge of its lr grid is "not tuned" instead.
"""

from dataclasses import dataclass
from enum import StrEnum

from optlab.report.family import Verdict
from optlab.report.formatting import verdict_text
from optlab.report.selection import Cell
from optlab.report.stats import MIN_SEEDS, Paired


class ClaimKey(StrEnum):
    """The claims of the seed text, keyed as the report lists them: (a) to (e)."""

    ADAPTIVE_CONVERGE_FASTER = "a"
    MOMENTUM_CONVERGES_FASTER = "b"
    ADAPTIVE_LESS_LR_SENSITIVE = "c"
    ADAPTIVE_MORE_MEMORY = "d1"
    ADAPTIVE_MORE_COMPUTE = "d2"
    SGD_GENERALIZES_BETTER = "e"


SUPPORTED, CONTRADICTED, INCONCLUSIVE, NOT_TUNED = "supported", "contradicted", "inconclusive", "not tuned"

CONVERGENCE_RULE = (
    "per seed, the steps to the target val accuracy at each optimizer's chosen lr (interpolated between the two "
    "validations around it), paired by seed; when a seed missed the target on either side (censored: counted at "
    "the full step budget) an exact sign-flip permutation test instead of the t interval; when neither side "
    "reaches the target in any seed, the val accuracy at the first validation instead"
)
TEST_RULE = ("paired by seed, two-sided paired t-test; a comparison counts when it survives the report's correction "
             "over all its comparisons, and its Student-t interval is shown at the level that correction matches "
             f"(it excludes 0 exactly then); fewer than {MIN_SEEDS} paired seeds or a tie in every seed: "
             "inconclusive")


@dataclass(frozen=True)
class Evidence:
    """One measured comparison behind a claim (verdict None: context, not judged)."""

    text: str
    verdict: str | None = None
    untuned: tuple[str, ...] = ()  # optimizers of this comparison whose chosen lr is at the edge of their grid


@dataclass(frozen=True)
class Claim:
    """A claim, its verdict on this sweep, the measured comparisons behind it and what the sweep lacks."""

    key: ClaimKey
    statement: str
    rule: str
    verdict: str
    findings: tuple[Evidence, ...]  # the evidence behind the verdict, as the claim lists it
    missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class Comparison:
    """A judged comparison: `pairs` is (claim's side) minus (other side), positive when it favours the claim."""

    label: str
    pairs: Paired
    unit: str
    scale: float = 1.0
    digits: int = 1
    note: str = ""
    over: str = "seeds"
    key: tuple = ()  # the family key: a comparison another part of the report also judges shares it
    uses: tuple[str, ...] = ()  # the optimizers whose chosen lrs it compares


def why_not(pairs: Paired) -> str | None:
    """Why a comparison cannot be judged at all, or None when it can."""
    if not pairs.enough:
        return f"inconclusive: needs at least {MIN_SEEDS} seeds ({pairs.n} paired)"
    if pairs.tie:
        return "inconclusive: tied in every seed, no evidence either way"
    return None


def decide(comparisons: list[Comparison], verdicts: list[Verdict | None], procedure: str = "Holm",
           edges: dict[str, str] | None = None) -> list[Evidence]:
    """Each comparison's verdict as the report's correction gave it (None: not yet corrected, a placeholder)."""
    found = []
    for comparison, judged in zip(comparisons, verdicts):
        pairs = comparison.pairs
        verdict, reason = INCONCLUSIVE, why_not(pairs)
        if reason is None and judged is not None:
            if judged.clear:
                verdict = SUPPORTED if pairs.mean > 0 else CONTRADICTED
                reason = verdict
            elif judged.interval is None:  # a censored comparison: a permutation test, no interval
                reason = "inconclusive: not significant after the report's correction"
            else:
                reason = "inconclusive: the interval includes 0"
        if judged is None:  # a placeholder: the family is not corrected yet
            shown = ""
        else:
            shown = verdict_text(judged, comparison.unit, comparison.scale, comparison.digits, comparison.over,
                                 procedure)
        untuned = [edges[name] for name in comparison.uses if name in (edges or {})]
        edge = f" (not tuned: {'; '.join(untuned)})" if untuned else ""
        found.append(Evidence(f"{comparison.label}: {shown}{comparison.note}: {reason}{edge}", verdict,
                             tuple(name for name in comparison.uses if name in (edges or {}))))
    return found


def overall(findings: list[Evidence], missing: list[str]) -> str:
    """Contradicted by any judged comparison against it; supported only when every part is there and agrees;
    not tuned instead of either when a comparison it rests on uses an lr at its grid's edge."""
    judged = [finding.verdict for finding in findings if finding.verdict is not None]
    decided = INCONCLUSIVE
    if CONTRADICTED in judged:
        decided = CONTRADICTED
    elif judged and all(verdict == SUPPORTED for verdict in judged) and not missing:
        decided = SUPPORTED
    if decided != INCONCLUSIVE and any(finding.untuned for finding in findings):
        return NOT_TUNED
    return decided


def by_seed(cell: Cell, read) -> dict[int, float | None]:
    return {run.seed: read(run) for run in cell.runs}

