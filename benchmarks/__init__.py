"""Throughput and GPU measurements; not part of the installed package."""
