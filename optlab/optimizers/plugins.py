"""Plug-in optimizers: `pkg.module:Name` or `path/to/file.py:Name`, compared like the registry's own.

The contract: Name is a torch.optim.Optimizer subclass, or a factory f(params, lr, **kwargs) that returns one.
Optional attributes on it: `optlab_family` (one of optimizers.families.FAMILIES), `optlab_lr_grid` (the lrs
`--lrs auto` tries) and `optlab_default_lr` (the lr `--lrs default` uses; else the signature's default lr).
"""

import functools
import importlib
import importlib.util
import inspect
import re
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from torch.optim import Optimizer

from optlab.errors import OptlabError


def is_plugin(name: str) -> bool:
    """Registry names are plain words; a plug-in names where its code is, with a colon before the object."""
    return ":" in name


def _one_line(error: BaseException) -> str:
    if isinstance(error, SystemExit):
        return f"it called sys.exit({error.code!r}); a plug-in must not exit when imported"
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def _import_file(path: Path, name: str) -> ModuleType:
    if not path.is_file():
        raise OptlabError(f"plug-in optimizer {name!r}: no file {path}; give an existing .py file (path:Name)")
    module_name = "optlab_plugin_" + re.sub(r"\W", "_", str(path.resolve()))
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pickling look their module up here
    try:
        spec.loader.exec_module(module)
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # SystemExit too: a plug-in that exits must not end the sweep silently
        del sys.modules[module_name]
        raise OptlabError(f"plug-in optimizer {name!r}: {path} failed to import ({_one_line(error)})") from None
    return module


def _import_module(target: str, name: str) -> ModuleType:
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as error:
        raise OptlabError(f"plug-in optimizer {name!r}: no module named {error.name!r}; install it, or give a "
                          "file path like path/to/my_opt.py:Name") from None
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # SystemExit too, as for files
        raise OptlabError(f"plug-in optimizer {name!r}: module {target} failed to import "
                          f"({_one_line(error)})") from None


@functools.cache
def load_plugin(name: str) -> Callable[..., Optimizer]:
    """The class or factory name points to, or one line saying what is wrong with it."""
    target, _, attribute = name.rpartition(":")
    if not target or not attribute.isidentifier():
        raise OptlabError(f"plug-in optimizer {name!r} must look like pkg.module:Name or path/to/file.py:Name")
    module = _import_file(Path(target), name) if target.endswith(".py") else _import_module(target, name)
    found = getattr(module, attribute, None)
    if found is None:
        raise OptlabError(f"plug-in optimizer {name!r}: {target} has no {attribute!r}")
    if inspect.isclass(found) and not issubclass(found, Optimizer):
        raise OptlabError(f"plug-in optimizer {name!r}: {attribute} is a class but not a torch.optim.Optimizer "
                          "subclass; give an Optimizer subclass or a factory f(params, lr, **kwargs)")
    if not callable(found):
        raise OptlabError(f"plug-in optimizer {name!r}: {attribute} is not a class or a function")
    return found


def signature_default_lr(target: Callable) -> float | None:
    """The lr default of a class's or factory's signature, if it has a numeric one."""
    try:
        parameter = inspect.signature(target).parameters.get("lr")
    except (TypeError, ValueError):
        return None
    default = getattr(parameter, "default", None)
    return float(default) if isinstance(default, (int, float)) and not isinstance(default, bool) else None
