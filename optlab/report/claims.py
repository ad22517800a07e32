"""The seed text's claims about optimizers, each judged on this sweep's own numbers.

A comparison is inconclusive when the seed-to-seed spread (the larger sample std of the two sides) is at least
the difference it would rest on, when it needs a spread and a side has one seed, or when the sweep lacks what
it needs. That is a rough guard against reading noise, not a significance test.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from optlab.report.formatting import DASH, lr_text, mib, num_spread, pct_spread, points_spread
from optlab.report.selection import Cell, Choice, ranked_by_val
from optlab.report.stats import Spread, seed_noise, spread
from optlab.report.sweep_record import SweepRecord
from optlab.report.target import steps_per_epoch, target_time

SUPPORTED, CONTRADICTED, INCONCLUSIVE = "supported", "contradicted", "inconclusive"
ADAPTIVE = ("adam", "adamw", "rmsprop", "adagrad", "adadelta", "adamax", "nadam", "radam")
SGD_FAMILY = ("sgd", "momentum", "nesterov")

CONVERGENCE_RULE = (
    "faster = fewer mean steps to the target val accuracy at each optimizer's chosen lr, a seed that never "
    "reaches it counting as the full step budget; when neither side reaches the target in any seed, "
    "higher mean val accuracy after the first epoch"
)


@dataclass(frozen=True)
class Finding:
    """One measured comparison behind a claim (verdict None: context, not judged)."""

    text: str
    verdict: str | None = None


@dataclass(frozen=True)
class Claim:
    """A claim, its verdict on this sweep, the measured comparisons behind it and what the sweep lacks."""

    key: str
    statement: str
    rule: str
    verdict: str
    findings: tuple[Finding, ...]
    missing: tuple[str, ...] = ()


def judge(difference: float, noise: float | None) -> str:
    """difference > 0 favours the claim; it must exceed the seed spread to count either way."""
    if noise is None or abs(difference) <= noise:
        return INCONCLUSIVE
    return SUPPORTED if difference > 0 else CONTRADICTED


def overall(findings: list[Finding], missing: list[str]) -> str:
    """Contradicted by any judged comparison against it; supported only when every part is there and agrees."""
    judged = [finding.verdict for finding in findings if finding.verdict is not None]
    if CONTRADICTED in judged:
        return CONTRADICTED
    if judged and all(verdict == SUPPORTED for verdict in judged) and not missing:
        return SUPPORTED
    return INCONCLUSIVE


def _why(verdict: str, noise: float | None) -> str:
    if verdict != INCONCLUSIVE:
        return verdict
    return "inconclusive: one seed, no spread to compare" if noise is None else "inconclusive: within seed spread"


def _sensitivity_text(name: str, best: Cell, worst: Cell) -> str:
    ratio = f"{worst.val.mean / best.val.mean:.2f}" if best.val.mean else DASH
    return (f"{name}: {pct_spread(best.val)} at lr {lr_text(best.lr)}, {pct_spread(worst.val)} at lr "
            f"{lr_text(worst.lr)}: sensitivity {100 * (best.val.mean - worst.val.mean):.1f} pts, worst/best {ratio}")


def first_epoch_val(run: dict[str, Any]) -> float | None:
    if run.get("epochs") and run["epochs"][0].get("val_acc") is not None:
        return run["epochs"][0]["val_acc"]
    return 0.0 if run.get("diverged") else None


class ClaimJudge:
    """Judges claims from a sweep's record and the lrs validation chose."""

    def __init__(self, record: SweepRecord, choices: dict[str, Choice]) -> None:
        self.record = record
        self.choices = choices
        self.epoch_steps = steps_per_epoch(record.runs)

    def claims(self) -> list[Claim]:
        return [
            self.converges_faster("a", ("adam", "rmsprop"), "Adam and RMSprop converge faster than SGD."),
            self.converges_faster("b", ("momentum", "nesterov"),
                                  "Momentum and Nesterov converge faster than plain SGD."),
            self.less_lr_sensitive(),
            self.more_memory(),
            self.more_compute(),
            self.sgd_generalizes_better(),
        ]

    def _chosen(self, name: str, missing: list[str]) -> Cell | None:
        """The optimizer's chosen cell, or None with the reason added to missing."""
        if name not in self.choices:
            missing.append(f"{name} is not in this sweep")
            return None
        if self.choices[name].chosen is None:
            missing.append(f"{name} has no chosen lr ({self.choices[name].reason})")
        return self.choices[name].chosen

    def _convergence(self, fast: Cell, slow: Cell) -> Finding:
        budget = self.record.max_epochs
        a, b = target_time(fast.runs, budget, self.epoch_steps), target_time(slow.runs, budget, self.epoch_steps)
        label_a, label_b = f"{fast.optimizer} (lr {lr_text(fast.lr)})", f"{slow.optimizer} (lr {lr_text(slow.lr)})"
        if a.reached or b.reached:
            noise = seed_noise(a.steps, b.steps)
            verdict = judge(b.steps.mean - a.steps.mean, noise)
            text = (f"{label_a} {num_spread(a.steps)} steps to target ({a.reached}/{a.runs} seeds reached) vs "
                    f"{label_b} {num_spread(b.steps)} ({b.reached}/{b.runs})")
            if a.steps.mean == b.steps.mean and a.reached == a.runs and b.reached == b.runs:
                text += "; both reach it at the same epoch, so a higher --target-acc is needed to tell them apart"
            return Finding(f"{text}: {_why(verdict, noise)}", verdict)
        va, vb = fast.metric(first_epoch_val), slow.metric(first_epoch_val)
        noise = seed_noise(va, vb)
        verdict = judge(va.mean - vb.mean, noise)
        return Finding(f"neither reached the target; val acc after epoch 1: {label_a} {pct_spread(va)} vs "
                       f"{label_b} {pct_spread(vb)}: {_why(verdict, noise)}", verdict)

    def converges_faster(self, key: str, fast: tuple[str, ...], statement: str) -> Claim:
        missing: list[str] = []
        findings: list[Finding] = []
        if not self.record.has_validation:
            missing.append("no validation split: time to target is measured on validation")
        else:
            slow = self._chosen("sgd", missing)
            for name in fast:
                cell = self._chosen(name, missing)
                if cell is not None and slow is not None:
                    findings.append(self._convergence(cell, slow))
        return Claim(key, statement, CONVERGENCE_RULE, overall(findings, missing), tuple(findings), tuple(missing))

    def _present(self, names: tuple[str, ...]) -> list[str]:
        return [name for name in self.choices if name in names]

    def _both_families(self) -> tuple[list[str], list[str], list[str]]:
        """The adaptive and SGD-family optimizers a family claim compares, and what the sweep lacks for it."""
        adaptive, sgd_family = self._present(ADAPTIVE), self._present(SGD_FAMILY)
        missing = [] if adaptive else ["no adaptive optimizer in this sweep"]
        if not sgd_family:
            missing.append("no SGD-family optimizer in this sweep")
        return adaptive, sgd_family, missing

    def less_lr_sensitive(self) -> Claim:
        statement = "Adaptive methods are less sensitive to the learning rate than the SGD family."
        rule = ("sensitivity = best minus worst mean final val acc over the lrs every compared optimizer ran; "
                "the adaptive group's mean sensitivity must be smaller than the SGD family's by more than the "
                "largest seed std of the cells used; inconclusive while any compared optimizer stays below the "
                "target at every shared lr (the figure depends on how far the grid reaches on either side of each "
                "optimizer's best lr)")
        adaptive, sgd_family, missing = self._both_families()
        if not self.record.has_validation:
            missing.append("no validation split")
        compared = adaptive + sgd_family
        grids = [{cell.lr for cell in self.choices[name].cells} for name in compared]
        shared = set.intersection(*grids) if grids else set()
        if len(shared) < 2:
            missing.append(f"needs at least 2 lrs run by every compared optimizer (shared: {len(shared)})")
        if missing:
            return Claim("c", statement, rule, INCONCLUSIVE, (), tuple(missing))
        findings, drops, noises = [], {}, []
        for name in compared:
            cells = [cell for cell in self.choices[name].cells if cell.lr in shared]
            ranked = ranked_by_val(cells)
            worst, best = ranked[0], ranked[-1]
            drops[name] = best.val.mean - worst.val.mean
            noises += [cell.val.std for cell in cells]
            findings.append(Finding(_sensitivity_text(name, best, worst)))
        # An optimizer that learns at no lr of the grid looks flat, which is not robustness.
        flat = [name for name in compared
                if max(c.val.mean for c in self.choices[name].cells if c.lr in shared) < self.record.target_acc]
        if flat:
            missing.append(f"below the {100 * self.record.target_acc:g}% target at every shared lr: "
                           f"{', '.join(flat)} (a flat response there means the grid missed the working range)")
        mean_adaptive = sum(drops[n] for n in adaptive) / len(adaptive)
        mean_sgd = sum(drops[n] for n in sgd_family) / len(sgd_family)
        noise = None if None in noises else max(noises)
        verdict = None if flat else judge(mean_sgd - mean_adaptive, noise)
        findings.append(Finding(f"mean sensitivity: adaptive ({', '.join(adaptive)}) {100 * mean_adaptive:.1f} pts vs "
                                f"SGD family ({', '.join(sgd_family)}) {100 * mean_sgd:.1f} pts, largest seed std "
                                f"{DASH if noise is None else f'{100 * noise:.1f} pts'}"
                                f"{'' if verdict is None else f': {_why(verdict, noise)}'}",
                                verdict))
        return Claim("c", statement, rule, overall(findings, missing), tuple(findings), tuple(missing))

    def _all_runs(self, name: str, key: str | Callable[[dict], float | None]) -> Spread:
        """A cost metric over every run of an optimizer that did not diverge (cost does not depend on lr)."""
        runs = [run for cell in self.choices[name].cells for run in cell.runs if not run.get("diverged")]
        read = key if callable(key) else (lambda run: run.get(key))
        return spread(read(run) for run in runs)

    def _adaptive_against_sgd(self) -> tuple[list[str], list[str]]:
        """The adaptive optimizers a cost claim compares with plain SGD, and what the sweep lacks for it."""
        adaptive = self._present(ADAPTIVE)
        missing = [] if "sgd" in self.choices else ["sgd is not in this sweep"]
        if not adaptive:
            missing.append("no adaptive optimizer in this sweep")
        return adaptive, missing

    def more_memory(self) -> Claim:
        statement = "Adaptive methods cost more memory (optimizer state) than SGD."
        rule = ("each adaptive optimizer's optimizer-state bytes against plain SGD's (exact counts, so no spread "
                "is needed); peak memory is shown but not judged, as it is dominated by the data and activations")
        adaptive, missing = self._adaptive_against_sgd()
        findings: list[Finding] = []
        if not missing:
            base = self._all_runs("sgd", "optimizer_state_bytes")
            base_peak = self._all_runs("sgd", "peak_memory_bytes")
            for name in adaptive:
                state = self._all_runs(name, "optimizer_state_bytes")
                if state.mean is None or base.mean is None:
                    missing.append(f"no non-diverged run of {name if state.mean is None else 'sgd'}")
                    continue
                verdict = SUPPORTED if state.mean > base.mean else CONTRADICTED
                peak = self._all_runs(name, "peak_memory_bytes")
                findings.append(Finding(f"{name} {mib(state.mean)} vs sgd {mib(base.mean)} of optimizer state "
                                        f"(peak memory {mib(peak.mean)} vs {mib(base_peak.mean)}): {verdict}", verdict))
        return Claim("d1", statement, rule, overall(findings, missing), tuple(findings), tuple(missing))

    def _hardware(self, name: str) -> set[tuple]:
        return {(run.get("accelerator"), run.get("world_size"), run.get("precision"))
                for cell in self.choices[name].cells for run in cell.runs}

    def more_compute(self) -> Claim:
        statement = "Adaptive methods cost more compute per step than SGD."
        rule = ("training images per second (same batch size, so inversely proportional to time per step) over "
                "every non-diverged run of an optimizer, all lrs and seeds, against plain SGD's; it must be lower by "
                "more than the larger std; only runs made on the same kind of device are compared")
        adaptive, missing = self._adaptive_against_sgd()
        findings: list[Finding] = []
        if not missing:
            base = self._all_runs("sgd", "images_per_second")
            for name in adaptive:
                if len(self._hardware(name) | self._hardware("sgd")) > 1:
                    missing.append(f"{name} and sgd ran on different devices or device counts")
                    continue
                speed = self._all_runs(name, "images_per_second")
                if speed.mean is None or base.mean is None:
                    missing.append(f"no non-diverged run of {name if speed.mean is None else 'sgd'}")
                    continue
                noise = seed_noise(speed, base)
                verdict = judge(base.mean - speed.mean, noise)
                findings.append(Finding(f"{name} {num_spread(speed)} vs sgd {num_spread(base)} images/s "
                                        f"({speed.n} and {base.n} runs): {_why(verdict, noise)}", verdict))
        return Claim("d2", statement, rule, overall(findings, missing), tuple(findings), tuple(missing))

    def _best_chosen(self, names: list[str]) -> Cell | None:
        """The group member whose chosen lr scored the highest mean val accuracy (validation picks, not test)."""
        cells = [self.choices[name].chosen for name in names if self.choices[name].chosen is not None]
        cells = [cell for cell in cells if cell.val.mean is not None]
        return max(cells, key=lambda cell: cell.val.mean) if cells else None

    def sgd_generalizes_better(self) -> Claim:
        statement = "SGD generalizes better than adaptive methods."
        rule = ("test accuracy of the SGD-family optimizer and of the adaptive optimizer that validation ranks "
                "highest, each at its chosen lr, must differ by more than the larger seed std; the generalization "
                "gap (final train acc minus test acc) is shown beside it, not judged")
        adaptive, sgd_family, missing = self._both_families()
        best_adaptive, best_sgd = self._best_chosen(adaptive), self._best_chosen(sgd_family)
        if adaptive and sgd_family and (best_adaptive is None or best_sgd is None):
            missing.append("no chosen lr to compare (no validation split)")
        findings: list[Finding] = []
        if best_adaptive is not None and best_sgd is not None:
            ta, tb = best_sgd.metric("test_acc"), best_adaptive.metric("test_acc")
            noise = seed_noise(ta, tb)
            verdict = judge(ta.mean - tb.mean, noise)
            findings.append(Finding(
                f"test acc {best_sgd.optimizer} (lr {lr_text(best_sgd.lr)}) {pct_spread(ta)} vs "
                f"{best_adaptive.optimizer} (lr {lr_text(best_adaptive.lr)}) {pct_spread(tb)}: {_why(verdict, noise)}",
                verdict))
            findings.append(Finding(
                f"generalization gap {best_sgd.optimizer} {points_spread(best_sgd.metric('generalization_gap'))} vs "
                f"{best_adaptive.optimizer} {points_spread(best_adaptive.metric('generalization_gap'))}"))
        return Claim("e", statement, rule, overall(findings, missing), tuple(findings), tuple(missing))


def judge_claims(record: SweepRecord, choices: dict[str, Choice]) -> list[Claim]:
    return ClaimJudge(record, choices).claims()

