"""Where a run keeps its files in the sweep folder: TensorBoard logs, hparams.yaml and its one checkpoint."""

from pathlib import Path

from optlab.records.order import folder_name, lr_text
from optlab.records.run_spec import RunSpec


def run_dir(sweep_dir: Path, spec: RunSpec) -> Path:
    """<optimizer>/lr<lr>_seed<seed> for a grid cell, <optimizer>/trial<n>_seed<seed> for a search trial's run."""
    configuration = f"trial{spec.trial}" if spec.trial is not None else f"lr{lr_text(spec.lr)}"
    return Path(sweep_dir) / folder_name(spec.optimizer) / f"{configuration}_seed{spec.seed}"


def checkpoint_path(sweep_dir: Path, spec: RunSpec) -> Path:
    """The one checkpoint a run keeps (its last finished epoch), from which it resumes."""
    return run_dir(sweep_dir, spec) / "checkpoints" / "last.ckpt"
