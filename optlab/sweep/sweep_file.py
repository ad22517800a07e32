"""`--config sweep.yaml`: every setting of the schema (sweep/schema.py) as a key; flags on the command line win.

Keys are the fields' names or their flags' names, dashes or underscores (`max-epochs`, `max_epochs`, `lr`).
Beyond the flags' own forms, `lrs` may map optimizers to their grids (`{adam: [1e-4, 3e-4], all: auto}`) and
`optimizer_args` may nest the arguments of one optimizer under its name (`{weight_decay: 5e-4, adam: {betas:
[0.9, 0.99]}}`). `--print_config` writes such a file (`dump`); given back with --config it is the same sweep.
"""

import typing
from pathlib import Path
from typing import Any

import yaml

from optlab import checks
from optlab.errors import OptlabError
from optlab.sweep import reading
from optlab.sweep.schema import ENTRY_FIELDS, SweepSettings, flag_of

EXTRA_KEYS = ("quick",)  # a key that is no field: --quick's preset
HINTS = typing.get_type_hints(SweepSettings)


def _keys() -> dict[str, str]:
    """Each key a file may use, to the field it sets: the field's name and its flags' names (not --no-...)."""
    keys = {name: name for name in EXTRA_KEYS}
    for item in ENTRY_FIELDS:
        keys[item.name] = item.name
        for flag in (flag_of(item.name), *item.metadata.get("aliases", ())):
            if not flag.startswith("--no-"):
                keys[flag.removeprefix("--").replace("-", "_")] = item.name
    return keys


KEYS = _keys()


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


def load(path: Path) -> dict[Any, Any]:
    """The file's mapping, or one line saying why it cannot be read."""
    try:
        loaded = yaml.load(path.read_text(encoding="utf-8"), Loader=StrictLoader)
    except OSError as error:
        raise OptlabError(f"cannot read --config {path} ({error.strerror}); give an existing YAML file") from None
    except UnicodeDecodeError:
        raise OptlabError(f"--config {path} is not a text file (not UTF-8); give a YAML file") from None
    except DuplicateKey as error:
        raise OptlabError(f"--config {path}: {error}") from None
    except RecursionError:
        raise OptlabError(f"--config {path} nests its values too deeply to be a sweep file; give flat values") from None
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f" at line {where.line + 1}" if where else ""
        raise OptlabError(f"--config {path} is not valid YAML{line}") from None
    if not isinstance(loaded, dict):
        raise OptlabError(f"--config {path} must hold a mapping of settings (max_epochs: 10, ...)")
    return loaded


def read_sweep_file(path: Path) -> dict[str, Any]:
    """The file's settings by field name (and `quick`), read as the flags are; the fields' checks judge them."""
    fields = {item.name: item for item in ENTRY_FIELDS}
    values: dict[str, Any] = {}
    spelled: dict[str, str] = {}
    for key, value in load(path).items():
        name = KEYS.get(str(key).replace("-", "_"))
        if name is None:
            raise OptlabError(f"unknown key {key!r} in {path}; valid keys: {', '.join(sorted(KEYS))}")
        if name in spelled:
            raise OptlabError(f"{path} sets {name} twice, as {spelled[name]!r} and {key!r}; keep one")
        spelled[name] = key
        if name in EXTRA_KEYS or HINTS[name] in (bool, bool | None):
            # A switch in a file is true or false: null would quietly mean the problem's default.
            values[name] = checks.boolean(value, str(key))
        else:
            values.update(reading.read(fields[name], HINTS[name], value, flag_of(name)))
    return values


def _plain(value: Any) -> Any:
    """Tuples (optimizer arguments) as YAML lists."""
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return {key: _plain(item) for key, item in value.items()} if isinstance(value, dict) else value


def dump(values: dict[str, Any]) -> str:
    """A sweep file holding these settings (every field, as parse_args merged them); a problem default left
    unset is left out (null cannot say it for a switch), and a comment says which."""
    settings: dict[str, Any] = {}
    unset = []
    for item in ENTRY_FIELDS:
        value = values["problems"] if item.name == "problem" else values[item.name]
        if item.name == "problem" and len(value) == 1:
            value = value[0]
        if item.name == "lrs" and values["optimizer_lrs"]:
            value = {"all": value, **values["optimizer_lrs"]}
        if value is None and item.metadata.get("problem_default"):
            unset.append(item.name)
            continue
        settings[item.name] = _plain(value)
    comment = f"# left out, so the problem's defaults hold: {', '.join(unset)}\n" if unset else ""
    return comment + yaml.safe_dump(settings, sort_keys=False, default_flow_style=None, allow_unicode=True,
                                    width=120)
