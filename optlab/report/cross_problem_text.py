"""summary.md of a multi-problem sweep: the tables and sentences of cross_problem's summary."""

from typing import Any

from optlab.report.cross_problem import PROFILE_TAUS, rank_statistics
from optlab.report.formatting import lr_text
from optlab.report.stats import LEVEL


def _acc(row: dict[str, Any]) -> str:
    std = row["test_acc_std"]
    return f"{100 * row['test_acc']:.1f}%" + (f" ± {100 * std:.1f}" if std is not None else "")


def _separated_text(row: dict[str, Any], best: str) -> str:
    if row["optimizer"] == best:
        return "best"
    if row.get("separated_from_best") is None:
        return "not judged (fewer than 3 shared seeds)"
    return "separated" if row["separated_from_best"] else "not separated"


def _friedman_lines(across: dict[str, Any], problems: int) -> list[str]:
    test, names = across["friedman"], across["common"]
    if test is None:
        return [f"Friedman's test needs at least 2 problems and 3 optimizers ranked on every one (here {problems} "
                f"and {len(names)}): no optimizer is separated from the best across problems."]
    verdict = ("the mean ranks differ" if test["p_value"] < LEVEL else
               "no evidence that the mean ranks differ, so no optimizer is separated from the best")
    lines = [f"Friedman's test over {test['problems']} problems and {test['optimizers']} optimizers: χ² "
             f"{test['chi_square']:.2f} (p {test['p_chi_square']:.3g}); Iman–Davenport F {test['iman_davenport']:.2f}, "
             f"p {test['p_value']:.3g}: {verdict}. Nemenyi critical difference at 5%: "
             f"{across['critical_difference']:.2f} ranks (CD = q·√(k(k+1)/(6N)), Demšar 2006); an optimizer is "
             "separated from the best mean rank when Friedman rejects and its gap exceeds the CD."]
    clear = [pair for pair in across["pairs"] if pair["holm_p"] < LEVEL]
    lines.append(f"Holm's step-down over the {len(across['pairs'])} pairs (z of the mean-rank difference): "
                 + ("; ".join(f"{pair['a']} vs {pair['b']} Holm p {pair['holm_p']:.3g}" for pair in clear)
                    if clear else "no clear pair") + ".")
    if test["problems"] < 5:
        lines.append(f"With {test['problems']} problems these rank tests rest on large-sample approximations and "
                     "can separate little: read them as a first look.")
    return lines


def render_summary(summary: dict[str, Any], figure: str | None = None) -> str:
    problems = list(summary["problems"])
    across = summary.get("across") or rank_statistics({})
    names = across["common"]
    lines = ["# Across problems", "", f"Ranked on {summary['ranked_on']}; each problem chose its own lrs. Mean "
             f"ranks, tests and the performance profile use one set: the {len(names)} optimizers ranked on every "
             f"one of the {len(problems)} problems, ranked among themselves.", ""]
    lines += [" ".join(_friedman_lines(across, len(problems))), ""]
    if figure:
        lines += [f"![Critical-difference diagram]({figure})", ""]
    header = ["optimizer", "mean rank", *problems, "separated from the best",
              *(f"error within {tau:g}× of best" for tau in PROFILE_TAUS)]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for entry in summary["overall"]:
        cells = [entry["optimizer"], f"{entry['mean_rank']:.2f}"]
        cells += [f"{across['ranks'][problem][entry['optimizer']]:g}" for problem in problems]
        best = entry["mean_rank"] == summary["overall"][0]["mean_rank"]
        cells.append("best" if best else "yes" if across["separated_from_best"].get(entry["optimizer"]) else "no")
        cells += [f"{100 * entry['profile'][f'{tau:g}']:.0f}%" for tau in PROFILE_TAUS]
        lines.append("| " + " | ".join(cells) + " |")
    if across["left_out"]:
        lines += ["", "Not ranked across problems (missing on some): " + "; ".join(
            f"{name} (not on {', '.join(missing)})" for name, missing in across["left_out"].items()) + "."]
    for problem in problems:
        lines += ["", f"## {problem}", ""]
        if summary.get("reports", {}).get(problem):
            lines += [f"Report: [{problem}/report.md]({problem}/report.md)", ""]
        versus = summary.get("versus_best", {}).get(problem) or {}
        if versus:
            lines += [f"Separated from the best: Tukey's all-pairs comparison over the {versus['seeds']} seeds every "
                      f"optimizer has (seeds as blocks; residual sd {100 * versus['residual_sd']:.2f} pts), which "
                      f"keeps the chance that any of equal optimizers is separated at 5%: a mean more than "
                      f"{100 * versus['threshold']:.2f} pts below the best's is separated. Not separated is not "
                      f"equal: at this spread a gap of {100 * versus['detectable_at_80_percent_power']:.2f} pts would "
                      "be separated with 80% power.", ""]
        else:
            lines += ["Fewer than 3 seeds shared by this problem's optimizers: none is judged against the best.", ""]
        lines += ["| rank | optimizer | chosen lr | seeds | test acc | separated from the best | error / best error |",
                  "|---|---|---|---|---|---|---|"]
        for row in summary["problems"][problem]:
            lines.append(f"| {row['rank']:g} | {row['optimizer']} | {lr_text(row['lr'])} | {row['seeds']} | "
                         f"{_acc(row)} | {_separated_text(row, summary['problems'][problem][0]['optimizer'])} | "
                         f"{row['error_ratio']:.3f} |")
    return "\n".join(lines) + "\n"
