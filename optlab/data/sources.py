"""The data sources a sweep reads, by name: kept apart from the DataModule so the command line can list them
without importing Lightning."""

DATASETS = ("auto", "cifar10", "imagefolder", "synthetic")
