"""Signals during a sweep: handled where a run stops on them (optlab.run.interrupts), named here for the sweep's
callers."""

from optlab.run.interrupts import SweepInterrupted, check, deferred, handling, install, received

__all__ = ["SweepInterrupted", "check", "deferred", "handling", "install", "received"]
