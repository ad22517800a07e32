"""`--config sweep.yaml`: every flag of scripts/sweep.py as a key of a YAML file; flags given on the command line win.

Keys are the flag names without the dashes (`max-epochs` or `max_epochs`). Beyond the flags' own text forms,
`lrs` may map optimizers to their grids (`{adam: [1e-4, 3e-4], all: auto}`) and `optimizer-args` may nest the
arguments of one optimizer under its name (`{weight_decay: 5e-4, adam: {betas: [0.9, 0.99]}}`).
"""

import argparse
import ast
from pathlib import Path
from typing import Any

import yaml

from optlab.checks import is_number, shown
from optlab.errors import OptlabError

ALIASES = {"lr": "lrs", "seed": "seeds", "optimizer_kwargs": "optimizer_args", "problem": "problems"}


class DuplicateKey(yaml.YAMLError):
    def __init__(self, key: Any, line: int) -> None:
        super().__init__(f"{key!r} is given twice (again at line {line}); keep one")


class StrictLoader(yaml.SafeLoader):
    """yaml's safe loader, but a key given twice in one mapping is an error (safe_load keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                fresh = key not in seen
            except TypeError:  # an unhashable key: the base loader says so
                break
            if not fresh:
                raise DuplicateKey(key, key_node.start_mark.line + 1)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _given_on_command_line(build_parser, argv: list[str] | None) -> set[str]:
    """The destinations the command line set itself (a parser whose defaults are all 'not given')."""
    parser = build_parser()
    for action in parser._actions:
        action.default = argparse.SUPPRESS
    return set(vars(parser.parse_args(argv)))


def _literal(value: Any) -> Any:
    """YAML reads 5e-4 as text; read such text as Python would, as the KEY=VALUE flags do."""
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return value
    return tuple(_literal(item) for item in value) if isinstance(value, list) else value


def _pairs(value: Any, key: str, path: Path) -> list[tuple[str, Any]]:
    """A mapping of KEY: VALUE (or NAME: {KEY: VALUE}) as the (key, value) pairs the flag gives."""
    if not isinstance(value, dict):
        raise OptlabError(f"{path}: {key} must be a mapping of KEY: VALUE")
    pairs = []
    for name, item in value.items():
        if isinstance(item, dict) and key == "optimizer_args":
            pairs += [(f"{name}.{argument}", _literal(inner)) for argument, inner in item.items()]
        else:
            pairs.append((str(name), _literal(item)))
    return pairs


def _lr_tokens(value: Any) -> list[str]:
    if isinstance(value, dict):
        tokens = []
        for name, grid in value.items():
            items = [str(item) for item in (grid if isinstance(grid, list) else [grid])]
            tokens += items if name == "all" else [f"{name}={','.join(items)}"]
        return tokens
    return [str(item) for item in (value if isinstance(value, list) else [value])]


def _convert(action: argparse.Action, key: str, value: Any, path: Path) -> Any:
    if action.dest == "lrs":
        return _lr_tokens(value)
    if action.dest in ("optimizer_args", "families"):
        return _pairs(value, action.dest, path)
    if action.nargs in ("+", "*"):
        items = value if isinstance(value, list) else [value]
        return [action.type(item) if action.type and isinstance(item, str) else item for item in items]
    if action.const is True or action.const is False or isinstance(action, argparse.BooleanOptionalAction):
        if not isinstance(value, bool):
            raise OptlabError(f"{path}: {key} must be true or false, got {shown(value)}")
        return value
    if action.type is None and is_number(value) and action.dest != "devices":
        return str(value)  # a text flag given a bare number (precision: 32, name: 2024)
    return action.type(value) if action.type and isinstance(value, str) else value


def read_sweep_file(path: Path, parser: argparse.ArgumentParser) -> dict[str, Any]:
    """The file's settings as the parser's destinations and values, or one line saying what is wrong."""
    try:
        loaded = yaml.load(path.read_text(encoding="utf-8"), Loader=StrictLoader)
    except OSError as error:
        raise OptlabError(f"cannot read --config {path} ({error.strerror}); give an existing YAML file") from None
    except UnicodeDecodeError:
        raise OptlabError(f"--config {path} is not a text file (not UTF-8); give a YAML file") from None
    except DuplicateKey as error:
        raise OptlabError(f"--config {path}: {error}") from None
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f" at line {where.line + 1}" if where else ""
        raise OptlabError(f"--config {path} is not valid YAML{line}") from None
    if not isinstance(loaded, dict):
        raise OptlabError(f"--config {path} must hold a mapping of settings (max_epochs: 10, ...)")
    actions = {action.dest: action for action in parser._actions if action.dest not in ("help", "config")}
    values, spelled = {}, {}
    for key, value in loaded.items():
        dest = str(key).replace("-", "_")
        dest = ALIASES.get(dest, dest)
        if dest not in actions:
            raise OptlabError(f"unknown key {key!r} in {path}; valid keys: {', '.join(sorted(actions))}")
        if dest in spelled:
            raise OptlabError(f"{path} sets {dest} twice, as {spelled[dest]!r} and {key!r}; keep one")
        spelled[dest] = key
        try:
            values[dest] = _convert(actions[dest], str(key), value, path)
        except (argparse.ArgumentTypeError, TypeError, ValueError) as error:
            raise OptlabError(f"{path}: bad value for {key}: {error}") from None
    return values


def apply_sweep_file(build_parser, args: argparse.Namespace, argv: list[str] | None) -> argparse.Namespace:
    """args with the --config file's settings wherever the command line left the default."""
    if not args.config:
        return args
    given = _given_on_command_line(build_parser, argv)
    for dest, value in read_sweep_file(Path(args.config), build_parser()).items():
        if dest not in given:
            setattr(args, dest, value)
    return args
