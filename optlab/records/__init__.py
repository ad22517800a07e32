"""Typed records of what a sweep writes (torch-free): the report and the sweep read them, never raw dicts."""

from optlab.records.manifest import PROTOCOL_DEFAULTS, SweepManifest
from optlab.records.run_result import EpochRecord, ResultsFile, RunResult, TargetReached, ValCheck
from optlab.records.typed import DamagedRecord

__all__ = ["PROTOCOL_DEFAULTS", "DamagedRecord", "EpochRecord", "ResultsFile", "RunResult", "SweepManifest",
           "TargetReached", "ValCheck"]
