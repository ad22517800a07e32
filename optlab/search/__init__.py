"""Hyperparameter search: what is tuned for each optimizer, and how a sampled point becomes a run."""
