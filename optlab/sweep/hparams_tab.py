"""TensorBoard's HParams tab for a sweep: one experiment that lists what the sweep compares, and per run its
values and final metrics.

TensorBoard shows the first five hyperparameters of the experiment (those that differ first, then by name) and
builds its own list, constants included, when no experiment is written. So the sweep writes the experiment
itself, at the top of its folder, naming only what varies across its grid; each run writes its session alone
(run/hparams.py).
"""

import os
import time
from pathlib import Path
from typing import Any

from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2
from tensorboard.summary.writer.record_writer import RecordWriter

from optlab.run.hparams import plugin_summary, run_hparams, set_value
from optlab.sweep.config import SweepConfig
from optlab.sweep.run_settings import settings_for

# The axes of the comparison: listed even where a sweep holds one value of them (one seed, say).
AXES = ("optimizer", "family", "lr", "seed")
# Final metrics, as the tags each run logs (the last value of a tag is the one the tab shows).
METRICS = {
    "test/acc": "test accuracy", "val/acc": "final val accuracy", "val/best_acc": "best val accuracy",
    "test/generalization_gap": "train-subset minus test accuracy", "train/images_per_second": "images/s",
    "train/diverged": "diverged (1) or not (0)",
}
EXPERIMENT_FILE = "events.out.tfevents.0.hparams-experiment"  # TensorBoard reads any file named *tfevents*


def searched_names(config: SweepConfig) -> list[str]:
    """Every hyperparameter a search samples, over all its optimizers' spaces."""
    if config.search == "grid":
        return []
    return list(dict.fromkeys(param.name for space in config.search_spaces().values() for param in space))


def _hparam_type(values: list[Any]) -> int:
    if all(isinstance(value, bool) for value in values):
        return api_pb2.DATA_TYPE_BOOL
    if all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in values):
        return api_pb2.DATA_TYPE_FLOAT64
    return api_pb2.DATA_TYPE_STRING


def experiment(config: SweepConfig) -> api_pb2.Experiment:
    """The sweep's grid as an HParams experiment: the comparison's axes and whatever else varies, no constants."""
    table = [run_hparams(settings_for(config, spec), spec) for spec in config.runs()]
    infos = []
    if config.search != "grid":  # the runs are not known before the search: its axes, every value to come
        for name in ("optimizer", "family", "stage", "trial", "seed", *searched_names(config)):
            kind = api_pb2.DATA_TYPE_STRING if name in ("optimizer", "family", "stage") else api_pb2.DATA_TYPE_FLOAT64
            infos.append(api_pb2.HParamInfo(name=name, type=kind, differs=True))
    for name in table[0] if table else AXES if config.search == "grid" else ():
        values = list(dict.fromkeys(row[name] for row in table))
        if name not in AXES and len(values) < 2:
            continue
        info = api_pb2.HParamInfo(name=name, type=_hparam_type(values), differs=len(values) > 1)
        for value in sorted(values, key=str):
            set_value(info.domain_discrete.values.add(), value)
        infos.append(info)
    metrics = [api_pb2.MetricInfo(name=api_pb2.MetricName(tag=tag), display_name=tag, description=text)
               for tag, text in METRICS.items()]
    return api_pb2.Experiment(hparam_infos=infos, metric_infos=metrics, time_created_secs=time.time())


def write_experiment(config: SweepConfig) -> Path:
    """The sweep's experiment, replaced whole (a grown grid rewrites it; every shard writes the same one)."""
    path = config.sweep_dir / EXPERIMENT_FILE
    summary = plugin_summary(metadata.EXPERIMENT_TAG, plugin_data_pb2.HParamsPluginData(experiment=experiment(config)))
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temporary.open("wb") as handle:
        writer = RecordWriter(handle)
        writer.write(Event(wall_time=time.time(), file_version="brain.Event:2").SerializeToString())
        writer.write(Event(wall_time=time.time(), summary=summary).SerializeToString())
    os.replace(temporary, path)
    return path
