"""A run's hyperparameters where TensorBoard and a reader look: its HParams session (values under its run id,
beside its final numbers) and hparams.yaml in its folder. The sweep writes the experiment that lists them."""

import json
import time
from pathlib import Path
from typing import Any

import yaml
from lightning.pytorch.loggers import TensorBoardLogger
from tensorboard.compat.proto.summary_pb2 import Summary
from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2

from optlab.atomic import write_text_atomic
from optlab.records.run_spec import RunSpec
from optlab.run.settings import RunSettings

# Final numbers that no step logs, under the stage they describe (the HParams tab reads a tag's last value).
FINAL_SCALARS = {"test/generalization_gap": "generalization_gap", "train/images_per_second": "images_per_second",
                 "train/diverged": "diverged"}


def run_hyperparameters(settings: RunSettings, spec: RunSpec) -> dict[str, Any]:
    """A run's hyperparameters, listed once: hparams.yaml holds them as they are, the HParams tab as plain values
    (run_hparams)."""
    return {
        "optimizer": spec.optimizer, "family": settings.family, "lr": spec.lr, "seed": spec.seed,
        "stage": spec.stage, "trial": spec.trial, "search_point": dict(spec.point),
        "optimizer_kwargs": settings.optimizer_kwargs, "problem": settings.problem, "schedule": settings.schedule,
        "warmup_epochs": settings.warmup_epochs, "max_epochs": settings.max_epochs, "batch_size": settings.batch_size,
        "l2": settings.l2, "augment": settings.augment, "precision": settings.precision,
    }


# Constant within any sweep (part of its protocol) and not a column the tab compares by.
NOT_IN_THE_TAB = ("warmup_epochs",)


def run_hparams(settings: RunSettings, spec: RunSpec) -> dict[str, Any]:
    """A run's hyperparameters as the HParams tab shows them (plain str, float, int or bool values); a search
    trial's run also its stage, trial number and every searched value."""
    every = run_hyperparameters(settings, spec)
    identity = {key: every.pop(key) for key in ("optimizer", "family", "lr", "seed")}
    stage, trial, point = every.pop("stage"), every.pop("trial"), every.pop("search_point")
    searched = {} if settings.search == "grid" else {"stage": stage, "trial": -1 if trial is None else trial,
                                                     **point}
    rest = {key: json.dumps(value, sort_keys=True, default=list) if key == "optimizer_kwargs" else value
            for key, value in every.items() if key not in NOT_IN_THE_TAB}
    return {**identity, **searched, **rest}


def set_value(target, value: Any) -> None:
    """Fill a protobuf Value (a HParamInfo domain entry or a session's value) from a plain one."""
    if isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, (int, float)):
        target.number_value = float(value)
    else:
        target.string_value = str(value)


def plugin_summary(tag: str, data: plugin_data_pb2.HParamsPluginData) -> Summary:
    """An HParams plugin record (an experiment, or a session's start or end) as a TensorBoard summary."""
    data.version = metadata.PLUGIN_DATA_VERSION
    return Summary(value=[Summary.Value(tag=tag, metadata=metadata.create_summary_metadata(data))])


def session_summaries(hparams: dict[str, Any], name: str) -> list[Summary]:
    """A run's session: its values, under its short name (the tab's trial id), and its end."""
    start = plugin_data_pb2.SessionStartInfo(group_name=name, start_time_secs=time.time())
    for key, value in hparams.items():
        set_value(start.hparams[key], value)
    end = plugin_data_pb2.SessionEndInfo(status=api_pb2.STATUS_SUCCESS, end_time_secs=time.time())
    return [plugin_summary(metadata.SESSION_START_INFO_TAG,
                           plugin_data_pb2.HParamsPluginData(session_start_info=start)),
            plugin_summary(metadata.SESSION_END_INFO_TAG, plugin_data_pb2.HParamsPluginData(session_end_info=end))]


def log_hparams(logger: TensorBoardLogger, settings: RunSettings, spec: RunSpec, result: dict,
                val_size: int) -> None:
    """The run's HParams session (its settings, under its run id) beside its final numbers (no hp_metric)."""
    final = {tag: float(result[key]) for tag, key in FINAL_SCALARS.items() if result.get(key) is not None}
    logger.log_metrics(final, result["steps"])
    hparams = {**run_hparams(settings, spec), "world_size": result["world_size"],
               "effective_batch_size": result["effective_batch_size"]}
    writer = logger.experiment._get_file_writer()
    for summary in session_summaries(hparams, spec.run_id):
        writer.add_summary(summary)
    logger.finalize("success")
    write_run_hparams(Path(logger.log_dir) / "hparams.yaml", settings, spec, result, val_size)


def _plain(value: Any) -> Any:
    """Tuples (betas) as lists, so the YAML stays plain."""
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    return value


def write_run_hparams(path: Path, settings: RunSettings, spec: RunSpec, result: dict, val_size: int) -> None:
    """The run's hyperparameters, replacing the empty file Lightning writes before any are logged."""
    hparams = {
        **run_hyperparameters(settings, spec), "effective_batch_size": result["effective_batch_size"],
        "dataset": settings.dataset_source, "val_size": val_size, "precision": result["precision"],
        "limit_train_batches": settings.limit_train_batches, "limit_eval_batches": settings.limit_eval_batches,
        "max_loss": settings.max_loss,
    }
    write_text_atomic(path, yaml.safe_dump(_plain(hparams), sort_keys=False))
