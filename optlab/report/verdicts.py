"""Every verdict of one report, made together: the pairwise table, the claims and Findings add their comparisons
to one family, which is corrected once (Holm by default, or Benjamini–Hochberg), and each part reads its verdict
and matching interval back. So the report's error rate is one stated number, and a pair quoted in two places has
one verdict.
"""

from dataclasses import dataclass

from optlab.report.claim_judge import ClaimJudge
from optlab.report.claims import Claim
from optlab.report.family import Family
from optlab.report.findings import add_findings, findings
from optlab.report.grid_edges import grid_edges
from optlab.report.pairwise import PairRow, add_pairs, pairwise
from optlab.report.power import ReportPower, report_power
from optlab.report.selection import Choice
from optlab.report.stats import FWER, LEVEL, Correction
from optlab.report.sweep_record import SweepRecord


@dataclass(frozen=True)
class ReportVerdicts:
    """What the report decides, and under which correction."""

    rows: list[PairRow]
    claims: list[Claim]
    findings: list[str]
    correction: Correction
    power: ReportPower
    edges: dict[str, str]
    family: Family

    @property
    def decided(self) -> bool:
        """Whether the report decides anything (a clear pair, a supported or contradicted claim)."""
        return self.correction.decided > 0


def report_verdicts(record: SweepRecord, choices: dict[str, Choice], control: str | None = None,
                    level: float = LEVEL) -> ReportVerdicts:
    """The report's verdicts under one correction: control "fwer" (Holm, the default) or "fdr" (Benjamini–Hochberg)."""
    family = Family()
    add_pairs(choices, family)
    judge = ClaimJudge(record, choices, family)
    judge.claims()  # first pass: the claims' comparisons join the family
    add_findings(record, choices, family)
    correction = family.close(control or FWER, level)
    rows = pairwise(choices, family)
    judged = [row.pairs for row in rows if row.pairs.enough and row.pairs.sd]
    power = report_power([pairs.sd for pairs in judged], min((p.n for p in judged), default=0), correction.tested,
                         level)
    return ReportVerdicts(rows, judge.claims(), findings(record, choices, family, rows), correction, power,
                          grid_edges(choices), family)


def judge_claims(record: "SweepRecord", choices: dict[str, Choice], control: str | None = None) -> list[Claim]:
    """The claims as the whole report judges them (one family with the pairwise table and Findings)."""
    return report_verdicts(record, choices, control).claims
