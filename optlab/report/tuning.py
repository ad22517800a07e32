"""A search's report section: the answer at every tuning budget, and which hyperparameters mattered.

The budget curve of an optimizer is the expected best validation score of a search given b of its K trials,
b = 1..K, with the spread of that best over the subsets (Dodge et al., "Show Your Work", EMNLP 2019; exact,
see search/budget.py). It reads tuning runs only: validation scores of the trials, never test accuracy.
Importance is Optuna's fANOVA evaluator (Hutter et al., ICML 2014) over each optimizer's trials: the share of
the validation score's variance each hyperparameter explains on its own.
"""

import math
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from optlab.records.run_result import RunResult
from optlab.report.formatting import DASH
from optlab.report.plot_parts import legend, save_figure
from optlab.report.plot_styles import choice_styles
from optlab.report.selection import Choice
from optlab.search.budget import BudgetCurve, budget_curve

BUDGET_FIGURE = "fig_budget.png"
MAX_BANDS = 6  # more optimizers' bands overlap into one colour: then lines only, the spreads in the table


def trial_scores(choice: Choice) -> list[float]:
    """The optimizer's trials' scores (mean final val accuracy over the tuning seeds), in trial order."""
    cells = sorted((cell for cell in choice.cells if cell.trial is not None and cell.val.n), key=lambda c: c.trial)
    return [cell.val.mean for cell in cells]


def budget_curves(choices: Mapping[str, Choice]) -> list[BudgetCurve]:
    return [budget_curve(name, scores) for name, choice in choices.items() if (scores := trial_scores(choice))]


def searched(runs: list[RunResult]) -> bool:
    return any(run.stage == "tune" for run in runs)


def _at(curve: BudgetCurve, budget: int) -> str:
    if budget > curve.trials:
        return DASH
    return f"{100 * curve.expected_best[budget - 1]:.1f} ± {100 * curve.spread[budget - 1]:.1f}%"


def budgets_shown(trials: int) -> list[int]:
    """1, 2, K/4, K/2 and K, each once."""
    return sorted({budget for budget in (1, 2, max(1, trials // 4), max(1, trials // 2), trials) if budget <= trials})


def _leader(curves: list[BudgetCurve], budget: int) -> tuple[str, float]:
    reached = [curve for curve in curves if curve.trials >= budget]
    best = max(reached, key=lambda curve: curve.expected_best[budget - 1])
    return best.optimizer, best.expected_best[budget - 1]


def _runner_up_gap(curves: list[BudgetCurve], budget: int) -> str:
    reached = sorted((curve.expected_best[budget - 1] for curve in curves if curve.trials >= budget), reverse=True)
    return f", {100 * (reached[0] - reached[1]):.1f} pts ahead of the next" if len(reached) > 1 else ""


def budget_sentences(curves: list[BudgetCurve], choices: Mapping[str, Choice]) -> list[str]:
    """Which optimizer a user with 1-2 trials, with K/4 and with K trials should expect to do best, and whether
    the confirmation runs agree with the full budget's leader."""
    if not curves:
        return []
    trials = min(curve.trials for curve in curves)
    ranges = [("1 trial", 1), ("2 trials", 2), (f"{max(1, trials // 4)} trials (a quarter of the budget)",
                                                  max(1, trials // 4)), (f"all {trials} trials", trials)]
    seen: set[int] = set()
    lines = []
    for text, budget in ranges:
        if budget > trials or budget in seen:
            continue
        seen.add(budget)
        leader, value = _leader(curves, budget)
        lines.append(f"- With {text}: **{leader}** leads (expected best val accuracy {100 * value:.1f}%"
                     f"{_runner_up_gap(curves, budget)}).")
    leader = _leader(curves, trials)[0]
    confirmed = {name: choice.chosen.val.mean for name, choice in choices.items()
                 if choice.chosen is not None and choice.judged_on == "confirmation runs" and choice.chosen.val.n}
    if confirmed:
        top = max(confirmed, key=confirmed.get)
        agree = "agree" if top == leader else "disagree"
        seeds = len(choices[top].chosen.runs)
        lines.append(f"- On the confirmation seeds, **{top}** has the highest mean final val accuracy "
                     f"({100 * confirmed[top]:.1f}% over {seeds} seed{'s' if seeds != 1 else ''}): the confirmation "
                     f"runs {agree} with the full budget's leader. Verdicts (pairwise table, claims) rest on the "
                     "confirmation runs alone.")
    else:
        lines.append("- No confirmation runs yet: no verdict is made on the tuning runs.")
    return lines


def _tuning_seeds_text(choices: Mapping[str, Choice]) -> str:
    seeds = sorted({run.seed for choice in choices.values() for cell in choice.cells if cell.trial is not None
                    for run in cell.runs})
    return f"{len(seeds)} tuning seed{'s' if len(seeds) != 1 else ''} ({', '.join(map(str, seeds))})"


def budget_lines(choices: Mapping[str, Choice]) -> list[str]:
    curves = budget_curves(choices)
    if not curves:
        return ["No trial has a validation score yet."]
    trials = max(curve.trials for curve in curves)
    budgets = budgets_shown(trials)
    header = "| optimizer | trials | " + " | ".join(f"best of {b}" for b in budgets) + " |"
    lines = [
        f"Expected best validation accuracy of a search given b of each optimizer's trials, each trial scored by its "
        f"mean over {_tuning_seeds_text(choices)} (± the spread of that best "
        "over the b-trial subsets of the trials run; exact, without resampling: Dodge et al., EMNLP 2019). An "
        "optimizer that leads at 1 trial is the safer choice without tuning; one that leads only at the full budget "
        "needs the search.", "", *budget_sentences(curves, choices), "",
        header, "|" + "---|" * (len(budgets) + 2),
    ]
    for curve in sorted(curves, key=lambda c: -c.expected_best[-1]):
        lines.append(f"| {curve.optimizer} | {curve.trials} | " + " | ".join(_at(curve, b) for b in budgets) + " |")
    return lines


def budget_figure(choices: Mapping[str, Choice]) -> Figure | None:
    curves = budget_curves(choices)
    if not curves:
        return None
    styles = choice_styles(dict(choices))
    figure = Figure(figsize=(9, 5), layout="constrained")
    ax = figure.add_subplot()
    banded = len(curves) <= MAX_BANDS
    for curve in curves:
        x = np.arange(1, curve.trials + 1)
        mean, spread = 100 * np.array(curve.expected_best), 100 * np.array(curve.spread)
        style = styles[curve.optimizer]
        ax.plot(x, mean, color=style.color, linestyle=style.linestyle, label=curve.optimizer)
        if banded:
            ax.fill_between(x, mean - spread, mean + spread, color=style.color, alpha=0.12, linewidth=0)
    ax.set_xlabel("tuning budget b (trials)")
    ax.set_ylabel("expected best val accuracy (%)")
    ax.set_xscale("log", base=2)
    ax.set_xticks(budgets_shown(max(curve.trials for curve in curves)))
    ax.get_xaxis().set_major_formatter("{x:g}")
    ax.grid(alpha=0.3)
    band = "band: its spread over b-trial subsets" if banded else "spreads in the report's table"
    ax.set_title(f"The answer at every budget: expected best of b trials ({band})", fontsize=9)
    legend(figure, ax.get_lines())
    return figure


def write_budget_figure(sweep_dir: Path, choices: Mapping[str, Choice]) -> Path | None:
    figure = budget_figure(choices)
    if figure is None:
        return None
    path = Path(sweep_dir) / BUDGET_FIGURE
    save_figure(figure, path)
    return path


def importances(choice: Choice, space: list[dict[str, Any]]) -> dict[str, float] | None:
    """fANOVA importances of the optimizer's searched hyperparameters, or None with fewer than 3 scored trials."""
    import optuna
    from optuna.distributions import FloatDistribution

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # a line per in-memory study would bury the report's
    cells = [cell for cell in choice.cells if cell.trial is not None and cell.val.n]
    if len(cells) < 3 or not space:
        return None
    distributions = {param["name"]: FloatDistribution(param["low"], param["high"], log=param["log"])
                     for param in space}
    study = optuna.create_study(direction="maximize")
    for cell in cells:
        point = cell.runs[0].search_point or {}
        if set(point) != set(distributions):
            return None
        clipped = {name: min(max(value, distributions[name].low), distributions[name].high)
                   for name, value in point.items()}
        study.add_trial(optuna.trial.create_trial(params=clipped, distributions=distributions, value=cell.val.mean))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            found = optuna.importance.get_param_importances(
                study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0))
        except (RuntimeError, ValueError):  # e.g. every trial scored the same
            return None
    return {name: float(value) for name, value in found.items() if math.isfinite(value)}


def importance_lines(choices: Mapping[str, Choice], spaces: Mapping[str, list[dict[str, Any]]]) -> list[str]:
    table = {name: importances(choice, spaces.get(name, [])) for name, choice in choices.items()}
    table = {name: found for name, found in table.items() if found}
    if not table:
        return ["Too few scored trials (3 per optimizer at least) to estimate which hyperparameters mattered."]
    names = list(dict.fromkeys(param for found in table.values() for param in found))
    lines = ["Share of each optimizer's validation-score variance over its trials that one hyperparameter explains "
             "(Optuna's fANOVA evaluator, seeded; shares of one row add up to 1). With a handful of trials these are "
             "rough: a large share says the search had to find that value; a dash: not searched for it.", "",
             "| optimizer | most important | " + " | ".join(names) + " |", "|" + "---|" * (len(names) + 2)]
    for name, found in table.items():
        top = max(found, key=found.get)
        lines.append(f"| {name} | {top} | " + " | ".join(f"{found[param]:.2f}" if param in found else DASH
                                                          for param in names) + " |")
    return lines
