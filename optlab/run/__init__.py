"""One run: its settings, Trainer, LightningModule, callbacks and result. It imports nothing from the sweep."""
