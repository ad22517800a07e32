"""The report's verdict sections: the pairwise comparison and the claims, under the report's one correction."""


from optlab.report.claims import Claim
from optlab.report.formatting import (
    DASH,
    confidence_text,
    interval_text,
    lr_text,
    markdown_table,
)
from optlab.report.stats import FDR, MIN_SEEDS
from optlab.report.verdicts import ReportVerdicts

LONG_PAIRWISE = 45  # pairs of 10 optimizers: beyond, the table lists only the clear ones


def family_text(verdicts: ReportVerdicts) -> str:
    """What the report controls, in one sentence with its numbers."""
    correction = verdicts.correction
    if not correction.tested:
        return f"No comparison of this report can be judged (each needs at least {MIN_SEEDS} paired seeds)."
    pairs = sum(row.adjusted_p is not None for row in verdicts.rows)
    others = correction.tested - pairs
    if correction.control == FDR:
        controlled = ("the expected share of false verdicts among those it calls clear (false discovery rate) at "
                      f"{100 * correction.level:g}%, by Benjamini–Hochberg's procedure")
    else:
        controlled = (f"the chance of any false verdict in the whole report (family-wise error) at "
                      f"{100 * correction.level:g}%, by Holm's step-down method")
    return (f"Every verdict of this report is one family of {correction.tested} comparisons ({pairs} pairs of "
            f"the pairwise table, {others} of the claims and Findings), corrected together: it controls "
            f"{controlled}. Intervals are shown at {confidence_text(correction.confidence())}, the level that "
            "correction matches (a comparison picked by the data from k candidates, k times closer to 100%): an "
            "interval excludes 0 exactly when its verdict is clear.")


def pairwise_lines(verdicts: ReportVerdicts) -> list[str]:
    rows = verdicts.rows
    if not rows:
        return ["Fewer than two optimizers have a chosen lr: nothing to compare."]
    procedure = verdicts.correction.procedure
    intro = (f"Every pair of optimizers at their chosen lrs. {family_text(verdicts)} {verdicts.power.text()}")
    # Rows that could not be judged (too few paired seeds) are counted, not listed: one seed makes them all so.
    judged = [row for row in rows if row.pairs.enough]
    notes = []
    if len(judged) < len(rows):
        notes.append(f"{len(rows) - len(judged)} of {len(rows)} pair{'s' if len(rows) > 1 else ''} inconclusive: "
                     f"each needs at least {MIN_SEEDS} paired seeds (this sweep has "
                     f"{max(row.pairs.n for row in rows)}).")
    if len(judged) > LONG_PAIRWISE:  # a long comparison lists its clear pairs and counts the rest
        hidden = sum(not row.clear for row in judged)
        judged = [row for row in judged if row.clear]
        if hidden:
            notes.append(f"{hidden} pairs with no clear difference are not listed.")
    if verdicts.edges:
        notes.append("Chosen lr at the edge of its grid (a better lr may lie beyond, so the optimizer may not be "
                     f"tuned): {'; '.join(verdicts.edges.values())}.")
    header = ("A", "B", "Δ test acc, A − B (paired by seed)", "corrected interval", "A ahead in",
              f"{procedure} p", "verdict")
    table = [(f"{row.a.optimizer} (lr {lr_text(row.a.lr)})", f"{row.b.optimizer} (lr {lr_text(row.b.lr)})",
              DASH if row.pairs.mean is None else f"{100 * row.pairs.mean:+.1f} pts",
              interval_text(row.judged.interval, row.judged.confidence, 100) or DASH,
              f"{row.pairs.wins}/{row.pairs.n} seeds", DASH if row.adjusted_p is None else f"{row.adjusted_p:.3g}",
              row.verdict) for row in judged]
    lines = [intro, "", *markdown_table(header, table)] if table else [intro]
    return lines + (["", " ".join(notes)] if notes else [])


def claim_lines(claims: list[Claim], verdicts: ReportVerdicts | None = None) -> list[str]:
    family = ""
    if verdicts is not None:
        family = (f" That correction is {verdicts.correction.procedure}'s over the report's "
                  f"{verdicts.correction.tested} comparisons, intervals at "
                  f"{confidence_text(verdicts.correction.confidence())} (see the pairwise comparison).")
    lines = ["Each claim is judged on this sweep alone, at the lrs validation chose. Every comparison pairs runs by "
             "seed and counts only when it survives the report's correction over all its comparisons (the pairs "
             f"of the table included; a claim quoting a pair of the table shares its verdict).{family} With fewer "
             "than 3 paired seeds, a tie in every seed, or when the sweep lacks what the claim needs, the claim is "
             "inconclusive; a claim that would be decided while an optimizer it compares has its chosen lr at the "
             "edge of its grid is **not tuned** instead. Claim (d1) compares exact byte counts: no test, outside "
             "the family.", ""]
    for claim in claims:
        lines.append(f"- **({claim.key}) {claim.statement}** → **{claim.verdict}**")
        lines += [f"  - {finding.text}" for finding in claim.findings]
        if claim.missing:
            lines.append(f"  - missing: {'; '.join(claim.missing)}")
        lines.append(f"  - rule: {claim.rule}")
    return lines
