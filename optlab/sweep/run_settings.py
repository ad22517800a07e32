"""What the sweep hands each run: its RunSettings, taken from the sweep's config, and the DataModule they share."""

from optlab.data import CIFAR10DataModule
from optlab.problems import get_problem
from optlab.records.run_spec import RunSpec
from optlab.run.settings import RunSettings
from optlab.sweep.config import SweepConfig


def settings_for(config: SweepConfig, spec: RunSpec, world_size: int | None = None) -> RunSettings:
    """One run's settings from a validated config; `world_size` is the folder's (None: not checked)."""
    devices = tuple(config.devices) if isinstance(config.devices, list) else config.devices
    return RunSettings(
        sweep_dir=config.sweep_dir, problem=config.problem, family=config.family(spec.optimizer),
        optimizer_arguments=tuple(config.run_arguments(spec).items()), search=config.search,
        schedule=config.schedule, warmup_epochs=config.warmup_epochs, max_epochs=config.max_epochs,
        batch_size=config.batch_size, l2=config.l2, augment=config.augment, dataset_source=config.dataset_source,
        max_loss=config.max_loss, target_acc=config.target_acc, val_every=config.val_every,
        limit_train_batches=config.limit_train_batches, limit_eval_batches=config.limit_eval_batches,
        accelerator=config.accelerator, devices=devices, strategy=config.strategy, num_nodes=config.num_nodes,
        precision=config.precision, deterministic=config.deterministic, channels_last=config.channels_last,
        compile=config.compile, compile_mode=config.compile_mode, fused=config.fused,
        cuda_graphs=config.cuda_graphs, progress=config.progress,
        concurrent_runs=config.concurrent_runs, world_size=world_size,
    )


def make_datamodule(config: SweepConfig) -> CIFAR10DataModule:
    """The sweep's data, loaded once and shared by its runs (each takes its own seed, see with_seed)."""
    problem = get_problem(config.problem)
    return CIFAR10DataModule(
        data_dir=config.data_dir, dataset=config.dataset, batch_size=config.batch_size,
        val_size=config.val_size, augment=config.augment, channels_last=config.channels_last,
        synthetic_size=config.synthetic_size, augmentation=problem.augmentation,
        preprocessing=problem.preprocessing, shuffled_test=config.limit_eval_batches is not None,
    )
