"""Optimizers by name: the registry, their hyperparameters and the size of their state."""
