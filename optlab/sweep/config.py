"""What a sweep is: its grid (optimizers × lrs × seeds), its protocol, and how it is executed."""

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from optlab import checks
from optlab.optimizers.registry import optimizer_family
from optlab.problems import get_problem
from optlab.records.order import grid_order
from optlab.records.run_spec import RunSpec  # also imported from here by the sweep
from optlab.search.protocol import confirmation_seeds, tuning_seeds
from optlab.sweep.grid import arguments_for
from optlab.sweep.schema import SweepSettings
from optlab.sweep.validation import check_name, parse_shard, validate

# Settings that change a run's numbers. Two sweeps that differ here must not share a folder;
# the grid axes, paths and execution settings may differ (extend a grid, move machines, shard).
PROTOCOL_FIELDS = (
    "optimizer_kwargs", "schedule", "warmup_epochs", "batch_size", "max_epochs", "dataset_source",
    "val_size", "augment", "precision", "limit_train_batches", "target_acc", "max_loss",
    "synthetic_size", "channels_last", "fused", "problem", "l2", "val_every", "limit_eval_batches",
    "search", "search_space", "search_seed", "tune_seeds",
)


@dataclass
class SweepConfig(SweepSettings):
    """Every setting of a sweep (sweep/schema.py declares them), validated before anything is written."""

    def __post_init__(self) -> None:
        for key, value in get_problem(self.problem).defaults().items():
            if getattr(self, key) is None:
                setattr(self, key, value)

    @property
    def sweep_dir(self) -> Path:
        return Path(self.log_dir) / self.name

    def lr_grid(self, optimizer: str) -> list[float]:
        """The lrs this optimizer runs: its own grid, else the plain list."""
        return list(self.optimizer_lrs.get(optimizer, self.lrs))

    def optimizer_arguments(self, optimizer: str) -> dict[str, Any]:
        """The keyword arguments this optimizer's runs get (see optimizer_kwargs)."""
        return arguments_for(optimizer, self.optimizer_kwargs)

    def run_arguments(self, spec: RunSpec) -> dict[str, Any]:
        """The optimizer arguments of one run: the sweep's for its optimizer, then a trial's own on top."""
        return {**self.optimizer_arguments(spec.optimizer), **dict(spec.arguments or ())}

    def family(self, optimizer: str) -> str:
        return optimizer_family(optimizer, self.families)

    def runs(self) -> list[RunSpec]:
        """The whole grid in a fixed order (shards rely on it): optimizers interleaved, see grid_order. A search
        plans its runs as it goes (sweep/searching.py): it has no grid."""
        if self.search != "grid":
            return []
        grids = {name: self.lr_grid(name) for name in self.optimizers}
        return [RunSpec(*cell) for cell in grid_order(self.optimizers, grids, self.seeds)]

    @property
    def tuning_seeds(self) -> list[int]:
        return tuning_seeds(self.search, self.seeds, self.tune_seeds)

    @property
    def confirmation_seeds(self) -> list[int]:
        return confirmation_seeds(self.search, self.seeds, self.tune_seeds, self.confirm_seeds)

    def search_spaces(self) -> dict[str, tuple]:
        """Each optimizer's search space, with the --search-space overrides applied."""
        from optlab.search.spaces import override, space_for

        spaces = {name: space_for(name) for name in self.optimizers}
        for text in self.search_space:
            spaces = override(spaces, text)
        return spaces

    def shard_runs(self) -> list[RunSpec]:
        """This shard's disjoint slice of the grid: every N-th run starting at K-1."""
        index, count = parse_shard(self.shard)
        return self.runs()[index::count]

    def protocol(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        return {key: values[key] for key in PROTOCOL_FIELDS}

    def validate(self) -> None:
        """One clear error for the first bad setting; called where the settings enter, before any file is touched.
        Resolves the lrs keywords and per-optimizer grids to numbers (what sweep.json records)."""
        validate(self)


def problem_configs(values: dict[str, Any], problems: list[str]) -> list[SweepConfig]:
    """One sweep per problem from the flags' values (None: the problem's default).

    One problem keeps the usual folder, <log-dir>/<name>; several get <log-dir>/<name>/<problem> each.
    """
    checks.list_of(checks.text)(problems, "--problem")
    if len(problems) == 1:
        return [SweepConfig(**{**values, "problem": problems[0]})]
    check_name(values.get("name", "sweep"))  # before it becomes the problems' parent folder
    parent = str(Path(values.get("log_dir", "lightning_logs")) / values.get("name", "sweep"))
    return [SweepConfig(**{**values, "problem": name, "log_dir": parent, "name": name}) for name in problems]
