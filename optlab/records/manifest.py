"""The typed record of `sweep.json` (docs/results-schema.md): the protocol a folder's runs were made under, the
settings of its latest sweep, its search spaces and its runs' world size.

The sweep writes it and checks a new sweep against it; the report reads the planned runs from it. Older layouts
are read here: a protocol field added after a folder was made counts as the value its runs were made with, and a
manifest from before `world_size` or `search_spaces` has none (and writes none back).
"""

from dataclasses import dataclass
from typing import Any

from optlab.records.typed import JsonRecord

# Protocol fields added later, with the value a folder recorded before them was run with: it stays resumable.
# ("seed_cnn" is problems.DEFAULT_PROBLEM; the records import nothing else of optlab, a test checks they agree.)
PROTOCOL_DEFAULTS = {"problem": "seed_cnn", "l2": 0.0, "val_every": 1.0, "limit_eval_batches": None,
                     "search": "grid", "search_space": [], "search_seed": 0, "tune_seeds": None}


@dataclass(frozen=True)
class SweepManifest(JsonRecord):
    """`sweep.json`: `protocol` (the settings that change a run's numbers), `config` (every setting of the latest
    sweep), and, where recorded, the runs' `world_size` and a search's `search_spaces`."""

    protocol: dict
    config: dict
    world_size: int | None = None
    search_spaces: dict | None = None

    @property
    def full_protocol(self) -> dict[str, Any]:
        """The protocol with every field a newer sweep records: a missing one has the value its runs were made with."""
        return {**PROTOCOL_DEFAULTS, **self.protocol}
