"""The report's closing section: how every number above is computed."""


from optlab.report.claims import CONVERGENCE_RULE
from optlab.report.formatting import (
    count_text,
)
from optlab.report.health import rule_text
from optlab.report.stats import FDR
from optlab.report.sweep_record import SweepRecord
from optlab.report.target import finest_lead_text
from optlab.report.verdicts import ReportVerdicts


def method_lines(record: SweepRecord, verdicts: ReportVerdicts | None = None) -> list[str]:
    correction = verdicts.correction if verdicts is not None else None
    if correction is not None and correction.control == FDR:
        procedure = ("Benjamini–Hochberg's procedure at 5% (`fdr`: the expected share of false verdicts among the "
                     "clear ones is at most 5%; with no true difference anywhere, the chance of any clear verdict is "
                     "at most 5% too), with the false-coverage-rate intervals of Benjamini & Yekutieli (2005) at "
                     "1 − R·5%/m (R clear of m)")
    else:
        procedure = ("Holm's step-down method at 5% (`fwer`: with no true difference anywhere, or any mix of true "
                     "and no differences, the chance that the report makes any false verdict is at most 5%), with "
                     "intervals at 1 − 5%/(m − R) (R clear of m: Bonferroni's simultaneous 95% intervals when "
                     "nothing is clear)")
    intervals = sorted({float(run.val_every or 1.0) for run in record.runs})
    every = " or ".join(f"{value:g}" for value in intervals)
    return [
        "- **lr selection**: for each optimizer, the lr whose runs have the highest mean *final* val accuracy over "
        "seeds (ties: the smaller lr). Final, not best-epoch, accuracy, because the test accuracy is measured on the "
        "final weights. A diverged run counts with its final val accuracy (measured after the blow-up), or 0 if it "
        "has none. Test metrics are only reported, never used to choose.",
        "- **mean ± std**: over seeds; std is the sample standard deviation (n − 1). With one seed no std is shown.",
        "- **paired comparisons** (claims, findings, the pairwise table): runs are paired by seed (same initial "
        "weights and data order for every optimizer of a seed), at each optimizer's chosen lr, two-sided paired "
        "t-test (scipy.stats). **One error rate per report**: every judged comparison of the report (each pair of "
        "the pairwise table, each comparison behind a claim, the Findings' fastest-against-next) is one family, "
        f"corrected together by {procedure}; so a comparison's interval excludes 0 exactly when it is called "
        "clear, and no interval printed beside a verdict is the unadjusted one. A pair picked by the data (the "
        "top two by test accuracy) is quoted with the table's verdict, which is corrected over every pair; the "
        "fastest against the next enters with its p multiplied by the number of pairs it was picked from. Fewer "
        "than 3 paired seeds: inconclusive. A tie in every seed is no evidence. Claim (d1) compares exact byte "
        "counts (no test, outside the family).",
        "- **power**: from the seed spread of the table's paired test-accuracy differences (root mean variance), "
        "the smallest true difference a two-sided paired t-test at 5%/m (the first step of the correction) finds "
        "with 80% power at the report's seeds (noncentral t, scipy.stats.nct).",
        "- **grid edges**: an optimizer whose chosen lr is the smallest or largest of its grid (or its only lr) "
        "may be better at an lr the grid did not reach; every verdict that uses it says so, and a claim that "
        "would be decided is marked not tuned.",
        f"- **time to target**: where the validation curve first crosses {100 * record.target_acc:g}%, interpolated "
        "linearly between the two validations around the crossing (the first validation itself when it already "
        f"reaches it), as steps and training seconds; validation runs every {every} epoch (`--val-every`). The "
        "curve between two checks is unseen, so the sd of paired step differences is floored at interval/√6"
        f"{finest_lead_text(record)}. A seed that never reaches the target is censored: the tables say in how many "
        "seeds each optimizer reached it and average a miss as the full budget "
        f"({count_text(record.max_epochs, 'epoch')} of steps; seconds at that run's own speed), as in DeepOBS; a "
        "comparison with a censored seed gets no interval and uses an exact paired sign-flip permutation test, "
        "whose p cannot go below 2/2ⁿ at n seeds (at least 6 seeds before one can be decided at 5%).",
        "- **images/s**: training images per second of training time (validation excluded); compared only between "
        "runs made on the same kind and number of devices, precision and number of concurrent runs on the device. "
        "**Optimizer state**: bytes of the optimizer's per-parameter buffers. **Peak memory**: the run's own peak: "
        "GPU max allocated (reset per run) on CUDA; on CPU the growth of the process's resident memory over a "
        "baseline taken at the run's start, after a warm-up step and after returning freed memory to the OS (the "
        "same run measures the same wherever it falls in a sweep). Results made before that field show the "
        "process's resident memory, which includes the data and grows over a sweep.",
        "- **gen. gap**: training accuracy minus test accuracy of the final weights, in percentage points; the "
        "training accuracy is measured after training on a fixed random subset of up to 5,000 training images, "
        "without augmentation and under the Trainer's precision, exactly as test accuracy is. **Loss spikes**: "
        "steps whose loss exceeds twice the mean of the 50 steps before. **Loss rose** (a run's status, and a "
        f"finding): {rule_text()}; a short run can climb like that without a spike or reaching the divergence limit.",
        f"- **converges faster** (claims a, b): {CONVERGENCE_RULE}.",
    ]
