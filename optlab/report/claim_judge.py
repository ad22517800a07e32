"""The seed text's six claims judged on one sweep: convergence, lr sensitivity, memory, compute, generalization.

Each claim gathers its comparisons (claims.Comparison) at the lrs validation chose, adds them to the report's one
family of verdicts before it is corrected, and reads its verdicts back after (see verdicts.report_verdicts).
Kept whole: one class a little over the house length, since the six claims share its chosen cells, family and
grid edges.
"""

from optlab.records.run_result import ADAPTIVE, SGD, RunResult
from optlab.report.claims import (
    CONTRADICTED,
    CONVERGENCE_RULE,
    INCONCLUSIVE,
    SUPPORTED,
    TEST_RULE,
    Claim,
    ClaimKey,
    Comparison,
    Evidence,
    by_seed,
    decide,
    overall,
)
from optlab.report.family import Family, test_acc_key
from optlab.report.formatting import DASH, count_text, lr_text, mib, paired_text, pct_spread
from optlab.report.grid_edges import grid_edges
from optlab.report.selection import Cell, Choice, ranked_by_val, selection_score
from optlab.report.stats import PROCEDURES, paired, spread
from optlab.report.sweep_record import SweepRecord
from optlab.report.target import steps_per_epoch, times_saved


def first_check_val(run: RunResult) -> float | None:
    checks = run.validations
    if checks and checks[0].val_acc is not None:
        return checks[0].val_acc
    return 0.0 if run.diverged else None


class ClaimJudge:
    """Judges claims from a sweep's record and the lrs validation chose."""

    def __init__(self, record: SweepRecord, choices: dict[str, Choice], family: Family) -> None:
        self.record = record
        self.choices = choices
        self.family = family
        self.epoch_steps = steps_per_epoch(record.runs)
        self.edges = grid_edges(choices)

    def _decide(self, claim: ClaimKey, comparisons: list[Comparison]) -> list[Evidence]:
        """Add the comparisons to the report's family (before it is corrected) or read their verdicts (after)."""
        verdicts = [self.family.judge(comparison.key or ("claim", claim, comparison.label), comparison.pairs)
                    for comparison in comparisons]
        procedure = PROCEDURES[self.family.correction.control] if self.family.closed else "Holm"
        return decide(comparisons, verdicts, procedure, self.edges)

    def claims(self) -> list[Claim]:
        return [
            self.converges_faster(ClaimKey.ADAPTIVE_CONVERGE_FASTER, ("adam", "rmsprop"),
                                  "Adam and RMSprop converge faster than SGD."),
            self.converges_faster(ClaimKey.MOMENTUM_CONVERGES_FASTER, ("momentum", "nesterov"),
                                  "Momentum and Nesterov converge faster than plain SGD."),
            self.less_lr_sensitive(),
            self.more_memory(),
            self.more_compute(),
            self.sgd_generalizes_better(),
        ]

    def _chosen(self, name: str, missing: list[str]) -> Cell | None:
        """The optimizer's chosen cell, or None with the reason added to missing."""
        if name not in self.choices:
            missing.append(self._absent(name))
            return None
        if self.choices[name].chosen is None:
            missing.append(f"{name} has no chosen lr ({self.choices[name].reason})")
        return self.choices[name].chosen

    def _absent(self, name: str) -> str:
        """Why an optimizer has no runs here: planned in sweep.json but none finished yet, or not in the grid."""
        if name in self.record.config.get("optimizers", []):
            return f"{name} is unfinished (planned, no finished run yet)"
        return f"{name} is not in this sweep"

    def _family(self, family: str) -> list[str]:
        return [name for name, choice in self.choices.items() if choice.family == family]

    def _convergence(self, fast: Cell, slow: Cell) -> Comparison:
        budget = self.record.max_epochs
        label = f"{fast.optimizer} (lr {lr_text(fast.lr)}) vs {slow.optimizer} (lr {lr_text(slow.lr)})"
        runs = [*fast.runs, *slow.runs]
        if any(run.reached for run in runs):
            saved = times_saved(slow.runs, fast.runs, budget, self.epoch_steps, self.record.target_acc)
            coarse = f"; coarse: checked every {saved.resolution:g} steps" if saved.resolution else ""
            return Comparison(f"{label}, {saved.reached_text}; steps to target saved", saved, " steps", digits=0,
                              note=f"; {saved.method_text}{coarse}", uses=(fast.optimizer, slow.optimizer))
        return Comparison(f"{label}, neither reached the target; val acc at the first validation",
                          paired(by_seed(fast, first_check_val), by_seed(slow, first_check_val)), " pts", scale=100,
                          uses=(fast.optimizer, slow.optimizer))

    def converges_faster(self, key: ClaimKey, fast: tuple[str, ...], statement: str) -> Claim:
        missing: list[str] = []
        comparisons: list[Comparison] = []
        if not self.record.has_validation:
            missing.append("no validation split: time to target is measured on validation")
        else:
            slow = self._chosen("sgd", missing)
            for name in fast:
                cell = self._chosen(name, missing)
                if cell is not None and slow is not None:
                    comparisons.append(self._convergence(cell, slow))
        findings = self._decide(key, comparisons)
        return _judged(key, statement, f"{CONVERGENCE_RULE}; {TEST_RULE}", findings, missing)

    def _both_families(self) -> tuple[list[str], list[str], list[str]]:
        """The adaptive and SGD-family optimizers a family claim compares, and what the sweep lacks for it."""
        adaptive, sgd_family = self._family(ADAPTIVE), self._family(SGD)
        missing = [] if adaptive else ["no adaptive optimizer in this sweep"]
        if not sgd_family:
            missing.append("no SGD-family optimizer in this sweep")
        return adaptive, sgd_family, missing

    def less_lr_sensitive(self) -> Claim:
        statement = "Adaptive methods are less sensitive to the learning rate than the SGD family."
        rule = ("sensitivity = val acc at an optimizer's best minus at its worst lr (ranked by mean on the seeds "
                "that choose, over the lrs every compared optimizer ran), per held-out seed where every lr ran on them "
                "(else per seed that chose); per seed, the SGD "
                f"family's mean sensitivity minus the adaptive group's, {TEST_RULE}; inconclusive while any compared "
                "optimizer stays below the target at every shared lr (the figure depends on how far the grid reaches "
                "on either side of each optimizer's best lr)")
        adaptive, sgd_family, missing = self._both_families()
        if not self.record.has_validation:
            missing.append("no validation split")
        compared = adaptive + sgd_family
        grids = [{cell.lr for cell in self.choices[name].cells} for name in compared]
        shared = set.intersection(*grids) if grids else set()
        if len(shared) < 2:
            missing.append(f"needs at least 2 lrs run by every compared optimizer (shared: {len(shared)})")
        # The best and worst lrs are those the choosing seeds rank; their gap is measured on the held-out seeds
        # where every lr ran again there (a grid without confirmation runs), else on the seeds that chose.
        held_out = {name: {cell.lr: cell for cell in self.choices[name].judged_cells} for name in compared}
        on_held_out = all(shared <= set(held_out[name]) for name in compared)
        where = "held-out seed" if on_held_out else "seed that chose"
        if missing:
            return Claim(ClaimKey.ADAPTIVE_LESS_LR_SENSITIVE, statement, rule, INCONCLUSIVE, (), tuple(missing))
        findings, per_seed = [], {}
        for name in compared:
            ranked = ranked_by_val([cell for cell in self.choices[name].cells if cell.lr in shared])
            worst, best = ranked[0], ranked[-1]
            if on_held_out:
                worst, best = held_out[name][worst.lr], held_out[name][best.lr]
            drop = paired(by_seed(best, _val), by_seed(worst, _val))
            per_seed[name] = dict(zip(_seeds(best, worst), drop.differences))
            findings.append(Evidence(f"{name}: {pct_spread(best.val)} at lr {lr_text(best.lr)}, "
                                     f"{pct_spread(worst.val)} at lr {lr_text(worst.lr)}: sensitivity "
                                     f"{DASH if drop.mean is None else f'{100 * drop.mean:.1f}'} pts over "
                                     f"{count_text(drop.n, where)}"))
        # An optimizer that learns at no lr of the grid looks flat, which is not robustness.
        flat = [name for name in compared
                if max(c.val.mean for c in self.choices[name].cells if c.lr in shared) < self.record.target_acc]
        if flat:
            missing.append(f"below the {100 * self.record.target_acc:g}% target at every shared lr: "
                           f"{', '.join(flat)} (a flat response there means the grid missed the working range)")
        seeds = set.intersection(*(set(per_seed[name]) for name in compared))
        sgd_mean = {s: sum(per_seed[n][s] for n in sgd_family) / len(sgd_family) for s in seeds}
        adaptive_mean = {s: sum(per_seed[n][s] for n in adaptive) / len(adaptive) for s in seeds}
        comparison = Comparison(f"mean sensitivity SGD family ({', '.join(sgd_family)}) minus adaptive "
                                f"({', '.join(adaptive)})", paired(sgd_mean, adaptive_mean), " pts", scale=100)
        if flat:  # not judged, so not part of the report's family
            shown = paired_text(comparison.pairs, comparison.unit, comparison.scale, comparison.digits)
            findings.append(Evidence(f"{comparison.label}: {shown}: not judged"))
        else:
            findings += self._decide(ClaimKey.ADAPTIVE_LESS_LR_SENSITIVE, [comparison])
        return _judged(ClaimKey.ADAPTIVE_LESS_LR_SENSITIVE, statement, rule, findings, missing)

    def _runs(self, name: str) -> list[RunResult]:
        """Every run of an optimizer that did not diverge (a cost does not depend on lr)."""
        return [run for cell in self.choices[name].cells for run in cell.runs if not run.diverged]

    def _adaptive_against_sgd(self) -> tuple[list[str], list[str]]:
        """The adaptive optimizers a cost claim compares with plain SGD, and what the sweep lacks for it."""
        adaptive = self._family(ADAPTIVE)
        missing = [] if "sgd" in self.choices else [self._absent("sgd")]
        if not adaptive:
            missing.append("no adaptive optimizer in this sweep")
        return adaptive, missing

    def more_memory(self) -> Claim:
        statement = "Adaptive methods cost more memory (optimizer state) than SGD."
        rule = ("each adaptive optimizer's optimizer-state bytes against plain SGD's (exact counts, so no interval "
                "is needed); the run's peak memory is shown but not judged, as it is dominated by the data and "
                "activations")
        adaptive, missing = self._adaptive_against_sgd()
        findings: list[Evidence] = []
        if not missing:
            base = _mean(self._runs("sgd"), "optimizer_state_bytes")
            base_peak = _mean(self._runs("sgd"), "run_peak_memory_bytes")
            for name in adaptive:
                state = _mean(self._runs(name), "optimizer_state_bytes")
                if state is None or base is None:
                    missing.append(f"no non-diverged run of {name if state is None else 'sgd'}")
                    continue
                verdict = SUPPORTED if state > base else CONTRADICTED
                peak = _mean(self._runs(name), "run_peak_memory_bytes")
                findings.append(Evidence(f"{name} {mib(state)} vs sgd {mib(base)} of optimizer state "
                                         f"(run's peak memory {mib(peak)} vs {mib(base_peak)}): {verdict}", verdict))
        return _judged(ClaimKey.ADAPTIVE_MORE_MEMORY, statement, rule, findings, missing)

    def more_compute(self) -> Claim:
        statement = "Adaptive methods cost more compute per step than SGD."
        rule = ("training images per second (same batch size, so inversely proportional to time per step), paired "
                "by (lr, seed) over every non-diverged run of both, sgd minus the adaptive optimizer; only pairs made "
                f"on the same kind of device, under the same number of concurrent runs and with the same kernel "
                f"settings (deterministic, CUDA graphs) count; {TEST_RULE}")
        adaptive, missing = self._adaptive_against_sgd()
        comparisons: list[Comparison] = []
        if not missing:
            base = {(run.lr, run.seed): run for run in self._runs("sgd")}
            for name in adaptive:
                mine = {(run.lr, run.seed): run for run in self._runs(name)}
                keys = mine.keys() & base.keys()
                same = {key for key in keys if mine[key].timing_conditions == base[key].timing_conditions}
                note = f"; {len(keys) - len(same)} pair(s) left out: different device, concurrency or kernels" \
                    if len(same) < len(keys) else ""
                pairs = paired({k: base[k].images_per_second for k in same},
                               {k: mine[k].images_per_second for k in same})
                comparisons.append(Comparison(f"sgd minus {name}, images/s", pairs, " images/s", digits=0,
                                              note=note, over="(lr, seed) pairs"))
        findings = self._decide(ClaimKey.ADAPTIVE_MORE_COMPUTE, comparisons)
        return _judged(ClaimKey.ADAPTIVE_MORE_COMPUTE, statement, rule, findings, missing)

    def _best_chosen(self, names: list[str]) -> Cell | None:
        """The group member whose chosen lr scored the highest mean val accuracy (validation picks, not test)."""
        cells = [self.choices[name].chosen for name in names if self.choices[name].chosen is not None]
        cells = [cell for cell in cells if cell.val.mean is not None]
        return max(cells, key=lambda cell: cell.val.mean) if cells else None

    def sgd_generalizes_better(self) -> Claim:
        statement = "SGD generalizes better than adaptive methods."
        rule = ("test accuracy of the SGD-family optimizer and of the adaptive optimizer that validation ranks "
                f"highest, each at its chosen lr, paired by seed; {TEST_RULE}; the generalization gap (final train "
                "acc minus test acc) is shown beside it, not judged")
        adaptive, sgd_family, missing = self._both_families()
        best_adaptive, best_sgd = self._best_chosen(adaptive), self._best_chosen(sgd_family)
        if adaptive and sgd_family and (best_adaptive is None or best_sgd is None):
            missing.append("no chosen lr to compare (no validation split)")
        findings: list[Evidence] = []
        if best_adaptive is not None and best_sgd is not None:
            label = (f"test acc {best_sgd.optimizer} (lr {lr_text(best_sgd.lr)}) minus {best_adaptive.optimizer} "
                     f"(lr {lr_text(best_adaptive.lr)})")
            test = paired(by_seed(best_sgd, _test), by_seed(best_adaptive, _test))
            # The same comparison as the pairwise table's row for these two: one verdict, shared.
            findings += self._decide(ClaimKey.SGD_GENERALIZES_BETTER, [Comparison(label, test, " pts", scale=100,
                                                      key=test_acc_key(best_sgd.optimizer, best_adaptive.optimizer),
                                                      uses=(best_sgd.optimizer, best_adaptive.optimizer))])
            gap = paired(by_seed(best_sgd, _gap), by_seed(best_adaptive, _gap))
            findings.append(Evidence(f"generalization gap {best_sgd.optimizer} minus {best_adaptive.optimizer}: "
                                     f"{paired_text(gap, ' pts', 100)}"))
        return _judged(ClaimKey.SGD_GENERALIZES_BETTER, statement, rule, findings, missing)


def _judged(key: ClaimKey, statement: str, rule: str, evidence: list[Evidence], missing: list[str]) -> Claim:
    """A claim with the verdict its evidence and what the sweep lacks give it."""
    return Claim(key, statement, rule, overall(evidence, missing), tuple(evidence), tuple(missing))


def _val(run: RunResult) -> float | None:
    return selection_score(run)


def _test(run: RunResult) -> float | None:
    return run.test_acc


def _gap(run: RunResult) -> float | None:
    return run.generalization_gap


def _seeds(*cells: Cell) -> list[int]:
    """The seeds every cell has a selection score for, in the order paired() pairs them."""
    common = set.intersection(*({run.seed for run in cell.runs if _val(run) is not None} for cell in cells))
    return sorted(common, key=repr)


def _mean(runs: list[RunResult], field: str) -> float | None:
    return spread(getattr(run, field) for run in runs).mean

