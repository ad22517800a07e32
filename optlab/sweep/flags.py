"""scripts/sweep.py's command line, generated from the settings' schema (sweep/schema.py).

One flag per field (its name with dashes, `--max-epochs`), its help and default from the field; lists take
several values or commas (`--seeds 0 1 2`, `--seeds 0,1,2`). parse_args merges, in order: the fields'
defaults, the `--config` sweep file, the flags given; then `--quick` fills the limits still unset. Values are
read, not judged: SweepConfig.validate() runs each field's check.
"""

import argparse
import copy
import dataclasses
import typing
from pathlib import Path
from typing import Any

from optlab.problems import DEFAULT_PROBLEM, get_problem
from optlab.sweep import reading, sweep_file
from optlab.sweep.schema import ENTRY_FIELDS, GIVEN_FIELDS, GROUPS, SweepSettings, flag_of

# --quick: 50 train batches (3,200 images at batch 64), 2 evaluation batches (2,000 images: evaluation batches hold
# 1,000, so full validation is 5 and test 10), one epoch.
QUICK = {"limit_train_batches": 50, "limit_eval_batches": 2, "max_epochs": 1}
SEVERAL = "problem"  # the one field the command line takes several of: one sweep each
HINTS = typing.get_type_hints(SweepSettings)


class SweepParser(argparse.ArgumentParser):
    """argparse over the schema's flags: errors as one line; parse_args returns every setting, merged."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")

    def parse_args(self, args: list[str] | None = None, namespace: Any = None) -> argparse.Namespace:
        given = vars(super().parse_args(args, namespace))  # the flags given, as typed: every default is SUPPRESS
        return argparse.Namespace(**merged(given))


def default_of(item: dataclasses.Field) -> Any:
    return copy.deepcopy(item.default) if item.default is not dataclasses.MISSING else item.default_factory()


def merged(given: dict[str, Any]) -> dict[str, Any]:
    """Defaults, then the sweep file, then the flags: every given field, `problems`, `config` and `print_config`."""
    path, print_config = given.pop("config", None), given.pop("print_config", False)
    values = {item.name: default_of(item) for item in GIVEN_FIELDS}
    quick = False
    if path is not None:
        from_file = sweep_file.read_sweep_file(Path(path))
        quick = bool(from_file.pop("quick", False))
        values.update(from_file)
    quick = given.pop("quick", quick)
    flags = {item.name: item for item in ENTRY_FIELDS}
    for name, value in given.items():
        values.update(reading.read(flags[name], HINTS[name], value, flag_of(name)))
    if quick:
        for key, value in QUICK.items():  # a flag or sweep-file value given explicitly wins
            values[key] = value if values[key] is None else values[key]
    problems = values.pop(SEVERAL)
    values["problems"] = [problems] if isinstance(problems, str) else problems
    return {**values, "config": path, "print_config": print_config}


def _help(item: dataclasses.Field) -> str:
    text, default = item.metadata["help"], default_of(item)
    if item.metadata.get("problem_default"):
        value = get_problem(DEFAULT_PROBLEM).defaults()[item.name]
        shown = ("on" if value else "off") if isinstance(value, bool) else value
        text += f" (default: the problem's); {DEFAULT_PROBLEM}: {shown}"
    elif "default_text" in item.metadata:
        text += f" (default: {item.metadata['default_text']})"
    elif default not in (None, "", [], {}) and not isinstance(default, bool):
        text += f" (default: {' '.join(map(str, default)) if isinstance(default, list) else default})"
    return text.replace("%", "%%")


def _form(item: dataclasses.Field) -> dict[str, Any]:
    """argparse's action, nargs and metavar for a field, from its type."""
    hint = HINTS[item.name]
    parts = [part for part in reading.union_parts(hint) if part is not type(None)]
    meta = item.metadata
    form: dict[str, Any] = {"metavar": meta.get("metavar"), "type": meta.get("flag_type")}
    if meta["choices"]:  # argparse's own "invalid choice" line for a flag; the field's check for a file
        form["choices"] = meta["choices"]
    if parts == [bool]:
        action = argparse.BooleanOptionalAction if len(reading.union_parts(hint)) > 1 else (
            "store_false" if item.default else "store_true")
        return {"action": action}
    origin = typing.get_origin(parts[0])
    if "nargs" in meta or (origin is list and len(parts) == 1):
        form["nargs"] = meta.get("nargs", "+")
    elif origin is dict:
        form["nargs"] = "*"
    return form


def build_parser() -> SweepParser:
    parser = SweepParser(prog="sweep.py", argument_default=argparse.SUPPRESS, description=(
        "Train a test problem's network (the seed CNN by default) once per optimizer (× learning rate × seed) from "
        "identical initial weights and data order; log to TensorBoard; print and save a comparison. A flag that takes "
        "several values also takes a comma list (--seeds 0 1 2 or --seeds 0,1,2)."))
    parser.add_argument("--config", metavar="YAML", help="a sweep file holding any of these settings (keys: the flag "
                        "names without dashes, e.g. max_epochs; --print_config writes one); flags given on the "
                        "command line override it")
    parser.add_argument("--print_config", "--print-config", action="store_true",
                        help="print these settings as a sweep file (YAML) and exit, writing nothing")
    groups = {key: parser.add_argument_group(title) for key, title in GROUPS.items()}
    for item in ENTRY_FIELDS:
        names = [flag_of(item.name), *item.metadata.get("aliases", ())]
        groups[item.metadata["group"]].add_argument(*names, dest=item.name, help=_help(item), **_form(item))
    groups["hardware"].add_argument("--quick", action="store_true", help="a first look in minutes: " + " ".join(
        f"{flag_of(key)} {value}" for key, value in QUICK.items()) + ", each unless given (quick: true in a file)")
    return parser
