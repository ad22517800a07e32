"""Plain sentences read off the report's tables: who reached the target first, generalized best, was most lr-sensitive.

Every number in a sentence is one the summary or per-lr table shows, formatted the same way, so a reader can
trace it back. A sentence about a pair picked by the data (the top two, the fastest and the next) says so, and its
verdict is one of the report's family (family.py): the top two's is the pairwise table's own row, corrected over
every pair (which covers any pair the data could pick); the fastest against the next enters the family with its
p multiplied by the number of pairs it was picked from.
"""

from optlab.report.family import Family, Verdict
from optlab.report.formatting import count_text, lr_text, num_spread, pct_spread, points_spread, verdict_text
from optlab.report.health import loss_rise, rule_text
from optlab.report.pairwise import PairRow
from optlab.report.selection import Cell, Choice, ranked_by_val
from optlab.report.stats import MIN_SEEDS, PROCEDURES, Paired
from optlab.report.sweep_record import SweepRecord
from optlab.report.target import TargetTime, steps_per_epoch, target_time, times_saved


def clear_text(pairs: Paired, judged: Verdict) -> str:
    """Whether a corrected comparison is a clear difference (its printed interval then excludes 0)."""
    if not pairs.enough:
        return f"inconclusive: needs at least {MIN_SEEDS} seeds"
    if pairs.tie:
        return "tied in every seed"
    if judged.clear:
        return "a clear difference"
    if judged.interval is None:  # censored: tested by permutation, with no interval
        return "not a clear difference (not significant after the report's correction)"
    return "not a clear difference (the interval includes 0)"


def _procedure(family: Family) -> str:
    return PROCEDURES[family.correction.control] if family.closed else "Holm"


def _name(cell: Cell) -> str:
    return f"**{cell.optimizer}** (lr {lr_text(cell.lr)})"


def _chosen(choices: dict[str, Choice]) -> list[Cell]:
    return [choice.chosen for choice in choices.values() if choice.chosen is not None]


def _target_text(time: TargetTime) -> str:
    return (f"{num_spread(time.steps)} steps, {num_spread(time.seconds, 1)} s "
            f"({time.reached}/{time.runs} seeds reached it)")


def target_sentences(record: SweepRecord, choices: dict[str, Choice], family: Family) -> list[str]:
    cells = [cell for cell in _chosen(choices) if cell.val.n]
    if not record.has_validation or not cells:
        return []
    epoch_steps = steps_per_epoch(record.runs)
    times: dict[str, TargetTime] = {cell.optimizer: target_time(cell.runs, record.max_epochs, epoch_steps)
                                    for cell in cells}
    reached = [cell for cell in cells if times[cell.optimizer].reached]
    target = f"{100 * record.target_acc:g}% val target"
    if not reached:
        best = max(cells, key=lambda cell: cell.val.mean)
        return [f"No optimizer reached the {target} within {count_text(record.max_epochs, 'epoch')} at its chosen "
                f"lr; the highest final val accuracy was {_name(best)} at {pct_spread(best.val)} over "
                f"{count_text(best.val.n, 'seed')}."]
    fewest = min(times[cell.optimizer].steps.mean for cell in reached)
    first = [cell for cell in reached if times[cell.optimizer].steps.mean == fewest]
    tied = "".join(f"; tied with {_name(cell)}: {_target_text(times[cell.optimizer])}" for cell in first[1:])
    sentences = [f"Fewest steps to the {target}: {_name(first[0])}, {_target_text(times[first[0].optimizer])}"
                 f"{tied} (a seed that missed counts as the full budget)."]
    others = sorted((cell for cell in cells if cell not in first), key=lambda cell: times[cell.optimizer].steps.mean)
    if not tied and others:
        runner_up = others[0]
        lead = times_saved(runner_up.runs, first[0].runs, record.max_epochs, epoch_steps, record.target_acc)
        interval = lead.resolution
        candidates = len(cells) * (len(cells) - 1) // 2
        judged = family.judge(("steps saved", first[0].optimizer, runner_up.optimizer), lead, picked_from=candidates)
        if judged is not None:
            sentences.append(
                f"Steps saved over the next, {_name(runner_up)} (a pair picked by the data: its p is multiplied by "
                f"the {candidates} pairs it was picked from): "
                f"{lead.reached_text}, {verdict_text(judged, ' steps', digits=0, procedure=_procedure(family))}"
                f" ({lead.method_text}{f'; coarse: checked every {interval:g} steps' if interval else ''}): "
                f"{clear_text(lead, judged)}.")
    quickest = min(reached, key=lambda cell: times[cell.optimizer].seconds.mean or float("inf"))
    conditions = {run.timing_conditions for cell in cells for run in cell.runs}
    if len(conditions) > 1:
        sentences.append("Training seconds are not compared: these runs were made under different devices, "
                         "precisions, numbers of concurrent runs or kernel settings.")
    elif quickest not in first:
        sentences.append(f"In training seconds {_name(quickest)} was first: "
                         f"{_target_text(times[quickest.optimizer])}.")
    never = [cell.optimizer for cell in cells if not times[cell.optimizer].reached]
    if never:
        sentences.append(f"Never reached it at the chosen lr: {', '.join(never)}.")
    return sentences


def top_pair(rows: list[PairRow], best: Cell, second: Cell) -> Verdict | None:
    """The pairwise table's verdict on best minus second."""
    for row in rows:
        if (row.a.optimizer, row.b.optimizer) == (best.optimizer, second.optimizer):
            return row.judged
        if (row.b.optimizer, row.a.optimizer) == (best.optimizer, second.optimizer):
            return row.judged.flipped()
    return None


def generalization_sentences(choices: dict[str, Choice], rows: list[PairRow], family: Family) -> list[str]:
    cells = [cell for cell in _chosen(choices) if cell.metric("test_acc").n]
    if len(cells) < 2 or not rows:
        return []
    ranked = sorted(cells, key=lambda cell: cell.metric("test_acc").mean, reverse=True)
    best, second = ranked[0], ranked[1]
    a, b = best.metric("test_acc"), second.metric("test_acc")
    judged = top_pair(rows, best, second)
    if judged is None:
        return []
    lead = judged.pairs
    if lead.tie or (lead.mean is not None and abs(lead.mean) < 5e-4):
        sentences = [f"Highest test accuracy at the chosen lr: {_name(best)} at {pct_spread(a)}, level "
                     f"with {_name(second)} at {pct_spread(b)} (over {count_text(min(a.n, b.n), 'seed')})."]
    else:
        sentences = [f"Highest test accuracy at the chosen lr: {_name(best)} at {pct_spread(a)}, ahead of "
                     f"{_name(second)} at {pct_spread(b)}; the top two of {len(cells)}, picked by the data, so the "
                     f"verdict is the pairwise table's (corrected over every pair): paired by seed "
                     f"{verdict_text(judged, ' pts', 100, procedure=_procedure(family))}: {clear_text(lead, judged)}."]
    gaps = [cell for cell in cells if cell.metric("generalization_gap").n]
    if len(gaps) > 1:
        gaps.sort(key=lambda cell: cell.metric("generalization_gap").mean)
        low, high = gaps[0], gaps[-1]
        smallest, largest = low.metric("generalization_gap"), high.metric("generalization_gap")
        if largest.mean - smallest.mean >= 5e-4:
            sentences.append(f"Smallest generalization gap (final train acc − test acc): {_name(low)} "
                             f"{points_spread(smallest)}; largest: {_name(high)} {points_spread(largest)} "
                             f"(over {count_text(min(smallest.n, largest.n), 'seed')}).")
    return sentences


def sensitivity_sentences(record: SweepRecord, choices: dict[str, Choice]) -> list[str]:
    """Best minus worst mean final val accuracy over each optimizer's own lr grid."""
    if not record.has_validation:
        return []
    drops = {}
    for name, choice in choices.items():
        cells = [cell for cell in choice.cells if cell.val.n]
        if len(cells) > 1:
            worst, best = ranked_by_val(cells)[0], ranked_by_val(cells)[-1]
            drops[name] = (best.val.mean - worst.val.mean, best, worst)
    if not drops:
        return []

    def describe(name: str) -> str:
        drop, best, worst = drops[name]
        return (f"**{name}**, whose mean final val accuracy goes from {pct_spread(best.val)} at {best.label} "
                f"to {pct_spread(worst.val)} at {worst.label} ({100 * drop:.1f} pts over the "
                f"{count_text(min(best.val.n, worst.val.n), 'seed')} that chose)")

    ranked = sorted(drops, key=lambda name: drops[name][0], reverse=True)
    searched = any(cell.trial is not None for choice in choices.values() for cell in choice.cells)
    # A search's trials differ in every searched value, not the lr alone: the importance table says which mattered.
    across = ("to its hyperparameters across its trials (which ones: the importance table)" if searched
              else "to the learning rate across its grid")
    sentence = f"Most sensitive {across}: {describe(ranked[0])}"
    if len(ranked) > 1:
        sentence += f"; least: {describe(ranked[-1])}"
    return [sentence + "."]


def divergence_sentences(choices: dict[str, Choice]) -> list[str]:
    parts = []
    for choice in choices.values():
        for cell in choice.cells:
            if cell.diverged:
                steps = [f"step {run.diverged_step} (seed {run.seed})" for run in cell.runs if run.diverged]
                parts.append(f"{cell.optimizer} at lr {lr_text(cell.lr)}, {cell.diverged}/{len(cell.runs)} seeds, "
                             f"loss non-finite or above the limit at {', '.join(steps)}")
    rises = {run.run_id: loss_rise(run) for choice in choices.values() for cell in choice.cells
             for run in cell.runs}
    risen = [f"{run_id} (loss {rise[0]:.3g} → {rise[1]:.3g})" for run_id, rise in rises.items() if rise]
    sentences = [f"Diverged: {'; '.join(parts)}."] if parts else []
    if risen:
        sentences.append(f"Loss ended far above its start without reaching the divergence limit ({rule_text()}): "
                         f"{'; '.join(risen)}.")
    return sentences or ["No run diverged, and no run's loss ended far above its start."]


def add_findings(record: SweepRecord, choices: dict[str, Choice], family: Family) -> None:
    """Put the Findings' own comparisons (the fastest against the next) into the report's family."""
    target_sentences(record, choices, family)


def findings(record: SweepRecord, choices: dict[str, Choice], family: Family, rows: list[PairRow]) -> list[str]:
    """The sentences, once the family is corrected (rows: the pairwise table, whose verdicts they quote)."""
    return [*target_sentences(record, choices, family), *generalization_sentences(choices, rows, family),
            *sensitivity_sentences(record, choices), *divergence_sentences(choices)]
