"""The world size of a sweep's runs (devices × nodes of one run), which its folder records: a folder never mixes
world sizes, since the effective batch, and so every number, depends on it."""

from optlab.sweep.concurrency import plan_parallel
from optlab.sweep.config import SweepConfig
from optlab.sweep.pool import slot_configs


def runs_world_size(config: SweepConfig, sweep_world_size: int) -> int:
    """One device's where --parallel spreads the runs over GPUs (a slot of pool.slot_configs), else the sweep's own
    devices × nodes as Lightning resolved them (`sweep_world_size`)."""
    runs = len(config.shard_runs()) if config.search == "grid" else len(config.optimizers) * len(config.tuning_seeds)
    plan = plan_parallel(config.parallel, runs, config.accelerator, config.devices, config.strategy, config.num_nodes)
    if plan.workers > 1 and runs > 1:
        slot = slot_configs(config, plan, 1)[0]
        if isinstance(slot.devices, list):
            return len(slot.devices) * slot.num_nodes
    return sweep_world_size
